"""Assets, clips, predictions and performance metrics, with the former service's media operations."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from gateway.api.history import HistoryViewSetMixin
from gateway.api.pagination import PageNumberOrCursorPagination
from gateway.api.representation import represent_rows, row_plan, row_values
from gateway.api.viewsets import ScopedModelViewSet, SoftDeleteModelViewSet, row_action
from gateway.db.compiled import CompiledQuery
from media.analytics import prediction_accuracy
from media.api.analytics_serializers import (
    ModelAccuracySerializer,
    PerformanceMetricIngestResultSerializer,
    PerformanceMetricIngestSerializer,
    PredictionAccuracyQuerySerializer,
)
from media.api.filters import AssetFilterSet, ClipFilterSet, PerformanceMetricFilterSet, PredictionFilterSet
from media.api.serializers import (
    AssetDetailSerializer,
    AssetSerializer,
    AssetStatusSerializer,
    ClipDetailSerializer,
    ClipScoresSerializer,
    ClipSerializer,
    ClipWithAssetSerializer,
    PerformanceMetricSerializer,
    PredictionActualsSerializer,
    PredictionSerializer,
    TopClipsQuerySerializer,
)
from media.models import Asset, Clip, PerformanceMetric, Prediction
from media.services import (
    asset_change_status,
    clip_set_scores,
    performance_metrics_ingest,
    prediction_record_actuals,
)


class AssetViewSet(HistoryViewSetMixin, SoftDeleteModelViewSet):
    """Video assets. The detail embeds the owner's summary and the asset's clips."""

    queryset = Asset.objects.all()
    serializer_class = AssetSerializer
    serializer_classes = {"retrieve": AssetDetailSerializer}
    filterset_class = AssetFilterSet
    search_fields = ["original_name", "filename"]

    def optimize_queryset(self, queryset):
        if self.action == "retrieve":
            return queryset.select_related("user")  # the clips are read by the serializer, as rows
        return queryset

    @row_action(
        AssetStatusSerializer,
        AssetSerializer,
        summary="Change an asset's status",
        description=(
            "Moves the asset along the allowed transitions (e.g. ARCHIVED may only go back to READY); "
            "a transition that is not allowed is a 400 naming the allowed ones. `processing_error` records why "
            "processing failed; leaving FAILED without a new error clears the old one."
        ),
    )
    def status(self, request, pk=None):
        return self.apply_service(asset_change_status, AssetStatusSerializer)


def top_clip_rows(*, user, asset, limit, min_score):
    """``clips/top/``'s rows: what ``get_queryset()`` gives its action (the live clips ``user`` may reach, the one
    scoping rule), best first, as ``ClipWithAssetSerializer``'s row plan reads them."""
    top = Clip.objects.visible_to(user).top(asset=asset, limit=limit, min_score=min_score)
    return row_values(row_plan(ClipWithAssetSerializer), top)


# Decided on the caller's role and the limit; the caller's id, the asset and the score bound are its values.
TOP_CLIP_ROWS = CompiledQuery(top_clip_rows, shape=("limit",), instances={"user": ("role",)})


class ClipViewSet(HistoryViewSetMixin, SoftDeleteModelViewSet):
    """Clips of assets. The detail embeds the clip's asset and predictions."""

    queryset = Clip.objects.all()
    serializer_class = ClipSerializer
    serializer_classes = {"retrieve": ClipDetailSerializer, "top": ClipWithAssetSerializer}
    filterset_class = ClipFilterSet
    # A clip has no text of its own: it is found by its asset's names.
    search_fields = ["asset__original_name", "asset__filename"]
    soft_parent = "asset"

    def optimize_queryset(self, queryset):
        if self.action == "retrieve":
            return queryset.select_related("asset")  # the predictions are read by the serializer, as rows
        return queryset

    @extend_schema(
        parameters=[TopClipsQuerySerializer],
        responses=ClipWithAssetSerializer(many=True),
        summary="Top clips",
        description="Scored clips that are not deleted, best score first, each with its asset. Not paginated.",
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def top(self, request):
        query = TopClipsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        asset_id = query.validated_data.get("asset")
        # Read as rows with their asset's columns joined (one query, no model instances), by SQL compiled once per
        # role and limit: the hottest read.
        clips = represent_rows(
            row_plan(ClipWithAssetSerializer),
            TOP_CLIP_ROWS(
                user=request.user,
                asset=asset_id,
                limit=query.validated_data["limit"],
                min_score=query.validated_data.get("min_score"),
            ),
        )
        # The clips come from the caller's live assets only, so any clip proves the asset reachable: only an
        # empty answer needs the check (one query less on the usual path).
        if (
            asset_id is not None
            and not clips
            and not Asset.objects.visible_to(request.user).filter(pk=asset_id).exists()
        ):
            raise serializers.ValidationError({"asset": [f"No asset with id {asset_id} exists or you may not use it."]})
        return Response(clips)

    @row_action(
        ClipScoresSerializer,
        ClipSerializer,
        operation_id="clips_score",
        summary="Score a clip",
        description=(
            "Sets any of score, viral_score, engagement_score, brand_safety_score (each in [0, 1]; null clears) "
            "and rank (>= 1), and optionally the status. Without a status, a PENDING or ANALYZED clip that "
            "receives a score becomes SCORED."
        ),
    )
    def scores(self, request, pk=None):
        return self.apply_service(clip_set_scores, ClipScoresSerializer)


class PredictionViewSet(HistoryViewSetMixin, ScopedModelViewSet):
    """ML predictions of clips' ad performance, and the actual figures when they arrive."""

    queryset = Prediction.objects.all()
    serializer_class = PredictionSerializer
    filterset_class = PredictionFilterSet
    search_fields = ["model_version", "model_type"]
    live_parent = "clip"
    # ``?cursor=`` pages through the predictions without counting them (gateway/api/pagination.py).
    pagination_class = PageNumberOrCursorPagination
    cursor_fields = ("created_at",)

    @row_action(
        PredictionActualsSerializer,
        PredictionSerializer,
        summary="Record a prediction's actual metrics",
        description=(
            "Stores the actual metrics given and recomputes `prediction_error`: the mean absolute percentage "
            "error over the metrics with both a predicted and a non-zero actual value, "
            "mean(|predicted - actual| / |actual|), as a fraction (0.2 means 20%); null when no metric qualifies."
        ),
    )
    def actuals(self, request, pk=None):
        return self.apply_service(prediction_record_actuals, PredictionActualsSerializer)

    @extend_schema(
        parameters=[PredictionAccuracyQuerySerializer],
        responses=ModelAccuracySerializer(many=True),
        summary="Prediction accuracy per model version",
        description=(
            "For each model type and version among the predictions you may see, and each metric: the rows with "
            "both a predicted and an actual value, MAE, MAPE (a fraction, over non-zero actuals), RMSE and bias "
            "(mean predicted - actual; positive = over-prediction). Aggregated in the database. Not paginated. "
            "See docs/ANALYTICS.md."
        ),
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def accuracy(self, request):
        query = PredictionAccuracyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = prediction_accuracy(queryset=self.get_queryset(), **query.validated_data)
        return Response(ModelAccuracySerializer(report, many=True).data)


class PerformanceMetricViewSet(ScopedModelViewSet):
    """Daily ad performance of assets per platform."""

    queryset = PerformanceMetric.objects.all()
    serializer_class = PerformanceMetricSerializer
    filterset_class = PerformanceMetricFilterSet
    search_fields = ["platform", "asset__original_name"]
    live_parent = "asset"

    @extend_schema(
        request=PerformanceMetricIngestSerializer,
        responses=PerformanceMetricIngestResultSerializer,
        summary="Ingest daily performance metrics",
        description=(
            "Up to 1,000 daily rows, upserted on (asset, platform, date): a day seen before is replaced "
            "(`updated`), a new one inserted (`created`). CTR (clicks / impressions) and ROAS (revenue / spend) "
            "are computed when not given. Each item is validated on its own: the valid ones are written in one "
            "transaction and the invalid ones (bad figures, clicks above impressions, an asset you may not use, a "
            "repeat of an earlier item's day) are reported in `errors` with their `index`. See docs/ANALYTICS.md."
        ),
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def ingest(self, request):
        serializer = PerformanceMetricIngestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        items, errors = serializer.validated_items()
        result = performance_metrics_ingest(items=[item for _, item in items], indexes=[index for index, _ in items])
        result["errors"] = sorted(errors + result["errors"], key=lambda error: error["index"])
        return Response(PerformanceMetricIngestResultSerializer(result).data)
