from datetime import date, timedelta

from django.db.models import BigIntegerField, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from gateway.models import OwnedQuerySet, SoftDeleteManager, SoftDeleteQuerySet
from media.choices import AssetStatus, ClipStatus

# How long an asset may stay PROCESSING before the console lists it as stuck.
PROCESSING_STUCK_AFTER = timedelta(hours=1)
# The summed figures of performance metrics, in the order reports show them.
PERFORMANCE_TOTALS = ("spend", "revenue", "impressions", "clicks", "conversions")
MONEY_TOTAL = DecimalField(max_digits=16, decimal_places=2)
AWAITING_SCORES = (ClipStatus.PENDING, ClipStatus.ANALYZED)


class AssetQuerySet(OwnedQuerySet, SoftDeleteQuerySet):
    owner_path = "user"

    def failed(self):
        """Live assets whose processing failed (served by the status index)."""
        return self.alive().filter(status=AssetStatus.FAILED)

    def stuck_processing(self, *, now=None):
        """Live assets PROCESSING whose row has not changed for ``PROCESSING_STUCK_AFTER`` (a status change
        touches ``updated_at``)."""
        return self.alive().filter(status=AssetStatus.PROCESSING, updated_at__lt=stuck_before(now))


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

    def of_asset(self, asset):
        """The clips of ``asset`` in the order its detail lists them: by start, then id."""
        return self.filter(asset=asset).order_by("start_time", "id")

    def awaiting_scores(self):
        """Live clips not scored yet: PENDING (waiting for analysis) or ANALYZED (waiting for their scores)."""
        return self.alive().filter(status__in=AWAITING_SCORES)


class PredictionQuerySet(OwnedQuerySet):
    owner_path = "clip__asset__user"

    def of_clip(self, clip):
        """The predictions of ``clip`` in the order its detail lists them: newest first, then by id."""
        return self.filter(clip=clip).order_by("-created_at", "id")


class PerformanceMetricQuerySet(OwnedQuerySet):
    owner_path = "asset__user"

    def daily_totals(self, *, date_from: date, date_to: date):
        """One row per day from ``date_from`` to ``date_to`` (inclusive) that has metrics, in date order:
        ``date`` and the summed ``PERFORMANCE_TOTALS`` (one GROUP BY, a range of the date index)."""
        return (
            self.filter(date__range=(date_from, date_to))
            .order_by()
            .values("date")
            .annotate(**{name: Sum(name) for name in PERFORMANCE_TOTALS})
            .order_by("date")
        )

    def totals_over(self, ranges: list[tuple[date, date]]) -> list[dict]:
        """The summed ``PERFORMANCE_TOTALS`` over each ``(first, last)`` date range (inclusive); 0 where a range
        has no rows.

        One statement: the rows of the union of the ranges are summed per day first (one pass over a range
        of the date index, as ``daily_totals``), then each range's totals are filtered sums of those few
        daily rows, rather than one filtered sum per range and figure over every row.
        """
        if not ranges:
            return []
        daily = (
            self.filter(date__gte=min(first for first, _ in ranges), date__lte=max(last for _, last in ranges))
            .order_by()
            .values("date")
            .annotate(**{f"day_{name}": Sum(name) for name in PERFORMANCE_TOTALS})
        )
        row = daily.aggregate(
            **{
                f"r{index}_{name}": Coalesce(
                    Sum(f"day_{name}", filter=Q(date__range=bounds)),
                    Value(0),
                    output_field=MONEY_TOTAL if name in ("spend", "revenue") else BigIntegerField(),
                )
                for index, bounds in enumerate(ranges)
                for name in PERFORMANCE_TOTALS
            }
        )
        return [{name: row[f"r{index}_{name}"] for name in PERFORMANCE_TOTALS} for index in range(len(ranges))]


AssetManager = SoftDeleteManager.from_queryset(AssetQuerySet)
ClipManager = SoftDeleteManager.from_queryset(ClipQuerySet)


def stuck_before(now=None):
    """The ``updated_at`` before which a PROCESSING asset counts as stuck."""
    return (now or timezone.now()) - PROCESSING_STUCK_AFTER
