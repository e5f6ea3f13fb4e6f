"""Input and output of the media analytics endpoints: performance-metrics ingestion and prediction accuracy."""

from decimal import Decimal

from rest_framework import serializers

from gateway.api.permissions import is_admin
from media.models import Asset

MAX_INGEST_ITEMS = 1000
MAX_BIGINT = 2**63 - 1
NON_NEGATIVE_MONEY = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0")}


class PerformanceMetricIngestItemSerializer(serializers.Serializer):
    """One day of one asset on one platform. CTR and ROAS are computed when left out."""

    asset = serializers.UUIDField()
    platform = serializers.CharField(max_length=50, default="meta")
    date = serializers.DateField()
    impressions = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    clicks = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    conversions = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    spend = serializers.DecimalField(**NON_NEGATIVE_MONEY, default=Decimal("0"))
    revenue = serializers.DecimalField(**NON_NEGATIVE_MONEY, default=Decimal("0"))
    roas = serializers.DecimalField(
        **NON_NEGATIVE_MONEY, required=False, allow_null=True, help_text="Default: revenue / spend (0 without spend)."
    )
    ctr = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
        allow_null=True,
        help_text="Default: clicks / impressions (null without impressions).",
    )
    raw_data = serializers.JSONField(required=False, allow_null=True, help_text="Kept when a later upsert omits it.")


class PerformanceMetricIngestSerializer(serializers.Serializer):
    """Input of ``POST performance-metrics/ingest/``: up to 1,000 daily rows."""

    metrics = serializers.ListField(
        # Any JSON per item, null included: each item is checked on its own and reported in ``errors``.
        child=serializers.JSONField(allow_null=True),
        min_length=1,
        max_length=MAX_INGEST_ITEMS,
        allow_empty=False,
    )

    def validated_items(self) -> tuple[list[tuple[int, dict]], list[dict]]:
        """``([(index, item)], errors)``: the items that are well-formed and name an asset the caller may use,
        and ``{"index", "errors"}`` for the others. Asset ids are looked up once for the whole batch."""
        candidates, errors = [], []
        for index, item in enumerate(self.validated_data["metrics"]):
            if not isinstance(item, dict):
                errors.append({"index": index, "errors": {"non_field_errors": ["Must be an object."]}})
                continue
            serializer = PerformanceMetricIngestItemSerializer(data=item)
            if not serializer.is_valid():
                errors.append({"index": index, "errors": serializer.errors})
                continue
            candidates.append((index, dict(serializer.validated_data)))
        request = self.context.get("request")
        user = getattr(request, "user", None)
        reachable = Asset.objects.all() if is_admin(user) else Asset.objects.owned_by(user)
        ids = {data["asset"] for _, data in candidates}
        known = set(reachable.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
        items = []
        for index, data in candidates:
            if data["asset"] not in known:
                message = f"No asset with id {data['asset']} exists or you may not use it."
                errors.append({"index": index, "errors": {"asset": [message]}})
            else:
                items.append((index, data))
        return items, errors


class PerformanceMetricIngestErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in `metrics`.")
    errors = serializers.DictField(help_text="Field errors of that item.")


class PerformanceMetricIngestedRowSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in `metrics`.")
    id = serializers.UUIDField(help_text="The performance metric row written.")
    created = serializers.BooleanField(help_text="True for a new row, false for an updated one.")


class PerformanceMetricIngestResultSerializer(serializers.Serializer):
    """Output of ``POST performance-metrics/ingest/``."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = PerformanceMetricIngestErrorSerializer(many=True)
    results = PerformanceMetricIngestedRowSerializer(many=True)


class PredictionAccuracyQuerySerializer(serializers.Serializer):
    """Query of ``GET predictions/accuracy/``."""

    model_version = serializers.CharField(required=False, max_length=50, help_text="Only this model version.")
    model_type = serializers.CharField(required=False, max_length=50, help_text="Only this model type.")


class MetricAccuracySerializer(serializers.Serializer):
    metric = serializers.CharField(help_text="roas, ctr, cpc, cpa or engagement.")
    n = serializers.IntegerField(help_text="Predictions with both a predicted and an actual value.")
    mae = serializers.FloatField(help_text="Mean absolute error, mean |predicted - actual|.")
    mape = serializers.FloatField(
        allow_null=True, help_text="Mean absolute percentage error as a fraction, over rows whose actual is not 0."
    )
    mape_n = serializers.IntegerField(help_text="Rows MAPE is computed over.")
    rmse = serializers.FloatField(help_text="Root mean squared error.")
    bias = serializers.FloatField(help_text="Mean of predicted - actual: positive means over-prediction.")
    undefined = serializers.DictField(child=serializers.CharField(), help_text="Why a figure is null.")


class ModelAccuracySerializer(serializers.Serializer):
    """One model type and version."""

    model_type = serializers.CharField()
    model_version = serializers.CharField()
    predictions = serializers.IntegerField()
    with_actuals = serializers.IntegerField(help_text="Predictions with at least one actual value.")
    mean_prediction_error = serializers.FloatField(allow_null=True, help_text="Mean of the stored prediction_error.")
    first_predicted_at = serializers.DateTimeField()
    last_predicted_at = serializers.DateTimeField()
    metrics = MetricAccuracySerializer(many=True)
