"""FilterSets of campaigns, experiments and conversions."""

import django_filters

from campaigns.choices import CampaignStatus, ConversionSource, ExperimentStatus
from campaigns.models import Campaign, Conversion, Experiment
from gateway.api.filters import CharInFilter, ChoiceInFilter, SoftDeleteFilterSet, UUIDInFilter


class CampaignFilterSet(SoftDeleteFilterSet):
    user = django_filters.UUIDFilter(field_name="user", lookup_expr="exact")
    user__in = UUIDInFilter(field_name="user", lookup_expr="in")
    status = django_filters.ChoiceFilter(field_name="status", lookup_expr="exact", choices=CampaignStatus.choices)
    status__in = ChoiceInFilter(field_name="status", lookup_expr="in", choices=CampaignStatus.choices)
    meta_campaign_id = django_filters.CharFilter(field_name="meta_campaign_id", lookup_expr="exact")
    meta_campaign_id__in = CharInFilter(field_name="meta_campaign_id", lookup_expr="in")
    start_date_after = django_filters.IsoDateTimeFilter(field_name="start_date", lookup_expr="gte")
    start_date_before = django_filters.IsoDateTimeFilter(field_name="start_date", lookup_expr="lte")
    end_date_after = django_filters.IsoDateTimeFilter(field_name="end_date", lookup_expr="gte")
    end_date_before = django_filters.IsoDateTimeFilter(field_name="end_date", lookup_expr="lte")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
        fields=["created_at", "updated_at", "name", "budget", "start_date", "end_date", "total_spend", "status"]
    )

    class Meta:
        model = Campaign
        fields = []


class ExperimentFilterSet(SoftDeleteFilterSet):
    campaign = django_filters.UUIDFilter(field_name="campaign", lookup_expr="exact")
    campaign__in = UUIDInFilter(field_name="campaign", lookup_expr="in")
    status = django_filters.ChoiceFilter(field_name="status", lookup_expr="exact", choices=ExperimentStatus.choices)
    status__in = ChoiceInFilter(field_name="status", lookup_expr="in", choices=ExperimentStatus.choices)
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=["created_at", "updated_at", "name", "start_date", "end_date"])

    class Meta:
        model = Experiment
        fields = []


class ConversionFilterSet(django_filters.FilterSet):
    campaign = django_filters.UUIDFilter(field_name="campaign", lookup_expr="exact")
    campaign__in = UUIDInFilter(field_name="campaign", lookup_expr="in")
    attributed_clip = django_filters.UUIDFilter(field_name="attributed_clip", lookup_expr="exact")
    attributed_clip__in = UUIDInFilter(field_name="attributed_clip", lookup_expr="in")
    external_id = django_filters.CharFilter(field_name="external_id", lookup_expr="exact")
    external_id__in = CharInFilter(field_name="external_id", lookup_expr="in")
    source = django_filters.ChoiceFilter(field_name="source", lookup_expr="exact", choices=ConversionSource.choices)
    source__in = ChoiceInFilter(field_name="source", lookup_expr="in", choices=ConversionSource.choices)
    timestamp_after = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    timestamp_before = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=["timestamp", "created_at", "value"])

    class Meta:
        model = Conversion
        fields = []
