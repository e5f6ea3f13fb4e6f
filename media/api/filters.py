"""FilterSets of assets, clips, predictions and performance metrics."""

import django_filters

from gateway.api.filters import (
    CharInFilter,
    ChoiceInFilter,
    IntegerFilter,
    IntegerInFilter,
    NumberInFilter,
    SoftDeleteFilterSet,
    UUIDInFilter,
)
from media.choices import AssetStatus, ClipStatus
from media.models import Asset, Clip, PerformanceMetric, Prediction


class AssetFilterSet(SoftDeleteFilterSet):
    user = django_filters.UUIDFilter(field_name="user", lookup_expr="exact")
    user__in = UUIDInFilter(field_name="user", lookup_expr="in")
    status = django_filters.ChoiceFilter(field_name="status", lookup_expr="exact", choices=AssetStatus.choices)
    status__in = ChoiceInFilter(field_name="status", lookup_expr="in", choices=AssetStatus.choices)
    gcs_url = django_filters.CharFilter(field_name="gcs_url", lookup_expr="exact")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
        fields=["created_at", "updated_at", "original_name", "filename", "file_size", "duration", "status"]
    )

    class Meta:
        model = Asset
        fields = []


class ClipFilterSet(SoftDeleteFilterSet):
    asset = django_filters.UUIDFilter(field_name="asset", lookup_expr="exact")
    asset__in = UUIDInFilter(field_name="asset", lookup_expr="in")
    status = django_filters.ChoiceFilter(field_name="status", lookup_expr="exact", choices=ClipStatus.choices)
    status__in = ChoiceInFilter(field_name="status", lookup_expr="in", choices=ClipStatus.choices)
    score = django_filters.NumberFilter(field_name="score", lookup_expr="exact")
    score__in = NumberInFilter(field_name="score", lookup_expr="in")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    rank = IntegerFilter(field_name="rank", lookup_expr="exact")
    rank__in = IntegerInFilter(field_name="rank", lookup_expr="in")
    rank_min = IntegerFilter(field_name="rank", lookup_expr="gte")
    rank_max = IntegerFilter(field_name="rank", lookup_expr="lte")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
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


class PredictionFilterSet(django_filters.FilterSet):
    clip = django_filters.UUIDFilter(field_name="clip", lookup_expr="exact")
    clip__in = UUIDInFilter(field_name="clip", lookup_expr="in")
    asset = django_filters.UUIDFilter(field_name="clip__asset", lookup_expr="exact")
    model_version = django_filters.CharFilter(field_name="model_version", lookup_expr="exact")
    model_version__in = CharInFilter(field_name="model_version", lookup_expr="in")
    model_type = django_filters.CharFilter(field_name="model_type", lookup_expr="exact")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=["created_at", "updated_at", "confidence", "prediction_error"])

    class Meta:
        model = Prediction
        fields = []


class PerformanceMetricFilterSet(django_filters.FilterSet):
    asset = django_filters.UUIDFilter(field_name="asset", lookup_expr="exact")
    asset__in = UUIDInFilter(field_name="asset", lookup_expr="in")
    platform = django_filters.CharFilter(field_name="platform", lookup_expr="exact")
    platform__in = CharInFilter(field_name="platform", lookup_expr="in")
    date = django_filters.DateFilter(field_name="date", lookup_expr="exact")
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
        fields=["date", "created_at", "impressions", "clicks", "conversions", "spend", "revenue", "roas", "ctr"]
    )

    class Meta:
        model = PerformanceMetric
        fields = []
