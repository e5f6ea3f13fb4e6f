from django.db import models

from gateway.models import SoftDeleteManager, SoftDeleteQuerySet


class AssetQuerySet(SoftDeleteQuerySet):
    def owned_by(self, user):
        return self.filter(user=user)


class ClipQuerySet(SoftDeleteQuerySet):
    def owned_by(self, user):
        return self.filter(asset__user=user)

    def top(self, *, asset=None, limit: int = 10, min_score: float | None = None):
        """Scored clips that are not deleted, best score first (served by ``media_clip_top_idx``)."""
        clips = self.filter(deleted_at__isnull=True, score__isnull=False)
        if asset is not None:
            clips = clips.filter(asset=asset)
        if min_score is not None:
            clips = clips.filter(score__gte=min_score)
        return clips.order_by("-score")[:limit]


class PredictionQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(clip__asset__user=user)


class PerformanceMetricQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(asset__user=user)


AssetManager = SoftDeleteManager.from_queryset(AssetQuerySet)
ClipManager = SoftDeleteManager.from_queryset(ClipQuerySet)
