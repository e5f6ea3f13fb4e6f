"""FilterSets of campaigns, experiments and conversions."""

from campaigns.choices import CampaignStatus, ConversionSource, ExperimentStatus
from campaigns.models import Campaign, Conversion, Experiment
from gateway.api.filters import (
    FilterSet,
    OrderingFilter,
    SoftDeleteFilterSet,
    choice_filters,
    datetime_range_filters,
    related_filters,
    text_filters,
)


class CampaignFilterSet(SoftDeleteFilterSet):
    user, user__in = related_filters("user")
    status, status__in = choice_filters("status", CampaignStatus.choices)
    meta_campaign_id, meta_campaign_id__in = text_filters("meta_campaign_id")
    start_date_after, start_date_before = datetime_range_filters("start_date")
    end_date_after, end_date_before = datetime_range_filters("end_date")
    ordering = OrderingFilter(
        fields=["created_at", "updated_at", "name", "budget", "start_date", "end_date", "total_spend", "status"]
    )

    class Meta:
        model = Campaign
        fields = []


class ExperimentFilterSet(SoftDeleteFilterSet):
    campaign, campaign__in = related_filters("campaign")
    status, status__in = choice_filters("status", ExperimentStatus.choices)
    ordering = OrderingFilter(fields=["created_at", "updated_at", "name", "start_date", "end_date"])

    class Meta:
        model = Experiment
        fields = []


class ConversionFilterSet(FilterSet):
    campaign, campaign__in = related_filters("campaign")
    attributed_clip, attributed_clip__in = related_filters("attributed_clip")
    external_id, external_id__in = text_filters("external_id")
    source, source__in = choice_filters("source", ConversionSource.choices)
    timestamp_after, timestamp_before = datetime_range_filters("timestamp")
    ordering = OrderingFilter(fields=["timestamp", "created_at", "value"])

    class Meta:
        model = Conversion
        fields = []
