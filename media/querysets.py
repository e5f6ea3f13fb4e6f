from gateway.models import OwnedQuerySet, SoftDeleteManager, SoftDeleteQuerySet


class AssetQuerySet(OwnedQuerySet, SoftDeleteQuerySet):
    owner_path = "user"


class ClipQuerySet(OwnedQuerySet, SoftDeleteQuerySet):
    owner_path = "asset__user"

    def top(self, *, asset=None, limit: int = 10, min_score: float | None = None):
        """Scored clips that are not deleted, best score first (served by ``media_clip_top_idx``)."""
        clips = self.alive().filter(score__isnull=False)
        if asset is not None:
            clips = clips.filter(asset=asset)
        if min_score is not None:
            clips = clips.filter(score__gte=min_score)
        return clips.order_by("-score")[:limit]


class PredictionQuerySet(OwnedQuerySet):
    owner_path = "clip__asset__user"


class PerformanceMetricQuerySet(OwnedQuerySet):
    owner_path = "asset__user"


AssetManager = SoftDeleteManager.from_queryset(AssetQuerySet)
ClipManager = SoftDeleteManager.from_queryset(ClipQuerySet)
