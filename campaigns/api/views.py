"""Campaigns, experiments and conversions, with the former service's campaign operations."""

from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status as http_status
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns.analytics import campaign_performance
from campaigns.api.analytics_serializers import (
    CampaignPerformanceQuerySerializer,
    CampaignPerformanceSerializer,
    ExperimentEvaluateSerializer,
    ExperimentEvaluationSerializer,
)
from campaigns.api.filters import CampaignFilterSet, ConversionFilterSet, ExperimentFilterSet
from campaigns.api.serializers import (
    CampaignDetailSerializer,
    CampaignMetricsSerializer,
    CampaignSerializer,
    CampaignStatusSerializer,
    ConversionIngestResultSerializer,
    ConversionIngestSerializer,
    ConversionSerializer,
    ExperimentSerializer,
    ExperimentWinnerSerializer,
)
from campaigns.models import Campaign, Conversion, Experiment
from campaigns.services import (
    campaign_change_status,
    campaign_update_metrics,
    conversions_ingest,
    experiment_evaluate,
    experiment_queue_evaluation,
    experiment_select_winner,
)
from gateway.api.history import HistoryViewSetMixin
from gateway.api.jobs import JobSerializer
from gateway.api.pagination import PageNumberOrCursorPagination
from gateway.api.viewsets import ScopedModelViewSet, SoftDeleteModelViewSet, row_action
from gateway.models import JobRecord


class CampaignViewSet(HistoryViewSetMixin, SoftDeleteModelViewSet):
    """Ad campaigns. The detail embeds the owner's summary, the experiments and conversion totals."""

    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    serializer_classes = {"retrieve": CampaignDetailSerializer}
    filterset_class = CampaignFilterSet
    search_fields = ["name"]

    def optimize_queryset(self, queryset):
        if self.action == "retrieve":
            return queryset.select_related("user")  # the experiments are read by the serializer, as rows
        return queryset

    @row_action(
        CampaignMetricsSerializer,
        CampaignSerializer,
        summary="Set or add to a campaign's totals",
        description=(
            "Sets `total_spend`, `total_impressions`, `total_clicks` and `total_conversions` to the values given, "
            'or with `"increment": true` adds them in one database UPDATE (`total = total + n`), so concurrent '
            "increments never lose each other's update. Values must not be negative. `spend`, `impressions`, "
            "`clicks` and `conversions` are aliases; a total under both of its names is a 400."
        ),
    )
    def metrics(self, request, pk=None):
        return self.apply_service(campaign_update_metrics, CampaignMetricsSerializer)

    @row_action(
        CampaignStatusSerializer,
        CampaignSerializer,
        summary="Change a campaign's status",
        description="Moves the campaign along the allowed transitions; ARCHIVED is final.",
        url_path="status",
    )
    def change_status(self, request, pk=None):
        return self.apply_service(campaign_change_status, CampaignStatusSerializer)

    @extend_schema(
        parameters=[CampaignPerformanceQuerySerializer],
        responses=CampaignPerformanceSerializer,
        summary="A campaign's performance",
        description=(
            "CTR, CPC, CPM and CPA on the campaign's totals, recorded conversions (count and value, all time and "
            "in the range), ROAS = recorded conversion value / spend, spend against the budget and the daily "
            "budget, and conversions per day for every day from `from` to `to` (inclusive, zeros included; "
            "default: the campaign's run up to today; at most 1,096 days). A figure whose denominator is 0 is "
            "null and `undefined` says why. Aggregated in the database in one query. See docs/ANALYTICS.md."
        ),
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def performance(self, request, pk=None):
        campaign = self.get_object()
        query = CampaignPerformanceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = campaign_performance(
            campaign=campaign, date_from=query.validated_data.get("from"), date_to=query.validated_data.get("to")
        )
        return Response(CampaignPerformanceSerializer(report).data)


class ExperimentViewSet(HistoryViewSetMixin, SoftDeleteModelViewSet):
    """A/B experiments of campaigns."""

    queryset = Experiment.objects.all()
    serializer_class = ExperimentSerializer
    filterset_class = ExperimentFilterSet
    search_fields = ["name"]
    soft_parent = "campaign"

    @row_action(
        ExperimentWinnerSerializer,
        ExperimentSerializer,
        summary="Select an experiment's winner",
        description=(
            "Declares one of the experiment's variants the winner, with an optional confidence in [0, 1], "
            "and marks the experiment COMPLETED with the time of selection. A different second winner, an "
            "unknown variant or a cancelled experiment is a 400."
        ),
        url_path="select-winner",
    )
    def select_winner(self, request, pk=None):
        return self.apply_service(experiment_select_winner, ExperimentWinnerSerializer)

    @row_action(
        ExperimentEvaluateSerializer,
        {
            http_status.HTTP_200_OK: ExperimentEvaluationSerializer,
            http_status.HTTP_202_ACCEPTED: JobSerializer,
        },
        summary="Evaluate an experiment",
        description=(
            'Compares each variant with the control (the first, or the one marked `"control": true`) on the '
            "chosen metric: two-proportion z-test, Holm-adjusted when there are several challengers, relative "
            "lift with a 95% interval, Bayesian probability of being best and expected loss. `winner` is the "
            "leading variant when every variant has `min_sample` trials and its confidence (1 - adjusted p) "
            "reaches `threshold`, otherwise null, and `reason` says why. Without `apply` the answer is the "
            'evaluation (200). With `"apply": true` the work is queued as a job and the answer is a 202 with the '
            "job (its `Location` is `/api/v1/jobs/{id}/`, which gives its state and, once it succeeded, this "
            "evaluation as `result`): the job stores the statistics, the confidence and any winner (with COMPLETED "
            "status) in one transaction. Bad variants (missing, negative or inconsistent counts, duplicate ids, "
            "fewer than two) are a 400 naming the variant, with or without `apply`. See docs/ANALYTICS.md and "
            "docs/JOBS.md."
        ),
    )
    def evaluate(self, request, pk=None):
        experiment = self.get_object()
        serializer = ExperimentEvaluateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parameters = dict(serializer.validated_data)
        if parameters.pop("apply"):
            # Read back before the commit, so the answer is the job as queued (a worker may take it at once).
            with transaction.atomic():
                record = experiment_queue_evaluation(experiment=experiment, user=request.user, **parameters)
                record = JobRecord.objects.select_related("job").get(pk=record.pk)
            return Response(
                JobSerializer(record).data,
                status=http_status.HTTP_202_ACCEPTED,
                headers={"Location": reverse("job-detail", args=[record.pk])},
            )
        outcome = experiment_evaluate(experiment=experiment, **parameters)
        return Response(ExperimentEvaluationSerializer(outcome).data)


@extend_schema_view(list=extend_schema(summary="List conversions, newest first"))
class ConversionViewSet(HistoryViewSetMixin, ScopedModelViewSet):
    """Conversions reported by ad platforms, newest first."""

    queryset = Conversion.objects.all()
    serializer_class = ConversionSerializer
    filterset_class = ConversionFilterSet
    search_fields = ["external_id", "attributed_ad_id", "campaign__name"]
    live_parent = "campaign"
    # ``?cursor=`` pages through a million conversions without counting them (gateway/api/pagination.py).
    pagination_class = PageNumberOrCursorPagination
    cursor_fields = ("timestamp", "created_at")

    @extend_schema(
        request=ConversionIngestSerializer,
        responses={http_status.HTTP_200_OK: ConversionIngestResultSerializer},
        summary="Ingest a batch of conversions",
        description=(
            "Up to 1,000 conversions in one request, idempotent on `external_id`: a conversion seen before "
            "(or repeated within the batch) creates nothing and is counted in `duplicates`, also when two "
            "deliveries race. Each item is validated on its own: the valid items are inserted in one "
            "transaction and the invalid ones are reported in `errors` with their `index`, so a platform "
            "can fix and resend just those (resending valid ones is harmless). A request whose envelope is "
            "invalid (no `conversions` list, empty, or more than 1,000 items) is a 400 and inserts nothing."
        ),
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def ingest(self, request):
        serializer = ConversionIngestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        rows, errors = serializer.validated_rows()
        result = conversions_ingest(conversions=rows)
        return Response({"created": result["created"], "duplicates": result["duplicates"], "errors": errors})
