"""FilterSets of assets, clips, predictions and performance metrics."""

import django_filters

from gateway.api.filters import (
    FilterSet,
    NumberInFilter,
    OrderingFilter,
    SoftDeleteFilterSet,
    choice_filters,
    integer_filters,
    related_filters,
    text_filters,
)
from media.choices import AssetStatus, ClipStatus
from media.models import Asset, Clip, PerformanceMetric, Prediction


class AssetFilterSet(SoftDeleteFilterSet):
    user, user__in = related_filters("user")
    status, status__in = choice_filters("status", AssetStatus.choices)
    gcs_url = django_filters.CharFilter(field_name="gcs_url", lookup_expr="exact")
    ordering = OrderingFilter(
        fields=["created_at", "updated_at", "original_name", "filename", "file_size", "duration", "status"]
    )

    class Meta:
        model = Asset
        fields = []


class ClipFilterSet(SoftDeleteFilterSet):
    asset, asset__in = related_filters("asset")
    status, status__in = choice_filters("status", ClipStatus.choices)
    score = django_filters.NumberFilter(field_name="score", lookup_expr="exact")
    score__in = NumberInFilter(field_name="score", lookup_expr="in")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    rank, rank__in, rank_min, rank_max = integer_filters("rank")
    ordering = OrderingFilter(
        fields=[
            "created_at",
            "updated_at",
            "start_time",
            "duration",
            "score",
            "viral_score",
            "engagement_score",
            "brand_safety_score",
            "rank",
        ]
    )

    class Meta:
        model = Clip
        fields = []


class PredictionFilterSet(FilterSet):
    clip, clip__in = related_filters("clip")
    asset = django_filters.UUIDFilter(field_name="clip__asset", lookup_expr="exact")
    model_version, model_version__in = text_filters("model_version")
    model_type = django_filters.CharFilter(field_name="model_type", lookup_expr="exact")
    ordering = OrderingFilter(fields=["created_at", "updated_at", "confidence", "prediction_error"])

    class Meta:
        model = Prediction
        fields = []


class PerformanceMetricFilterSet(FilterSet):
    asset, asset__in = related_filters("asset")
    platform, platform__in = text_filters("platform")
    date = django_filters.DateFilter(field_name="date", lookup_expr="exact")
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    ordering = OrderingFilter(
        fields=["date", "created_at", "impressions", "clicks", "conversions", "spend", "revenue", "roas", "ctr"]
    )

    class Meta:
        model = PerformanceMetric
        fields = []
