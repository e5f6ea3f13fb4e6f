"""Input and output of the media analytics endpoints: performance-metrics ingestion and prediction accuracy."""

from decimal import Decimal

from rest_framework import serializers

from gateway.api import strict
from gateway.api.serializers import Serializer
from gateway.api.validation import IngestItemsField, existing_pks, ingest_error_serializer, validate_batch
from media.models import Asset

MAX_BIGINT = 2**63 - 1
NON_NEGATIVE_MONEY = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0")}


class PerformanceMetricIngestItemSerializer(Serializer):
    """One day of one asset on one platform. CTR and ROAS are computed when left out."""

    asset = strict.UUIDField()
    platform = strict.CharField(max_length=50, default="meta")
    date = serializers.DateField()
    impressions = strict.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    clicks = strict.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    conversions = strict.IntegerField(min_value=0, max_value=MAX_BIGINT, default=0)
    spend = strict.DecimalField(**NON_NEGATIVE_MONEY, default=Decimal("0"))
    revenue = strict.DecimalField(**NON_NEGATIVE_MONEY, default=Decimal("0"))
    roas = strict.DecimalField(
        **NON_NEGATIVE_MONEY, required=False, allow_null=True, help_text="Default: revenue / spend (0 without spend)."
    )
    ctr = strict.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
        allow_null=True,
        help_text="Default: clicks / impressions (null without impressions).",
    )
    raw_data = serializers.JSONField(required=False, allow_null=True, help_text="Kept when a later upsert omits it.")


class PerformanceMetricIngestSerializer(Serializer):
    """Input of ``POST performance-metrics/ingest/``: up to 1,000 daily rows."""

    metrics = IngestItemsField(item_serializer=PerformanceMetricIngestItemSerializer)

    def validated_items(self) -> tuple[list[tuple[int, dict]], list[dict]]:
        """``([(index, item)], errors)``: the items that are well-formed and name an asset the caller may use,
        and ``{"index", "errors"}`` for the others. Asset ids are looked up once for the whole batch."""
        candidates, errors = validate_batch(self.validated_data["metrics"], PerformanceMetricIngestItemSerializer())
        user = getattr(self.context.get("request"), "user", None)
        known = existing_pks(Asset.objects.visible_to(user), (data["asset"] for _, data in candidates))
        items = []
        for index, data in candidates:
            if data["asset"] not in known:
                message = f"No asset with id {data['asset']} exists or you may not use it."
                errors.append({"index": index, "errors": {"asset": [message]}})
            else:
                items.append((index, data))
        return items, errors


PerformanceMetricIngestErrorSerializer = ingest_error_serializer("PerformanceMetricIngestErrorSerializer", "metrics")


class PerformanceMetricIngestedRowSerializer(serializers.Serializer):
    index = strict.IntegerField(help_text="Position of the item in `metrics`.")
    id = strict.UUIDField(help_text="The performance metric row written.")
    created = strict.BooleanField(help_text="True for a new row, false for an updated one.")


class PerformanceMetricIngestResultSerializer(serializers.Serializer):
    """Output of ``POST performance-metrics/ingest/``."""

    created = strict.IntegerField()
    updated = strict.IntegerField()
    errors = PerformanceMetricIngestErrorSerializer(many=True)
    results = PerformanceMetricIngestedRowSerializer(many=True)


class PredictionAccuracyQuerySerializer(Serializer):
    """Query of ``GET predictions/accuracy/``."""

    model_version = strict.CharField(required=False, max_length=50, help_text="Only this model version.")
    model_type = strict.CharField(required=False, max_length=50, help_text="Only this model type.")


class MetricAccuracySerializer(serializers.Serializer):
    metric = strict.CharField(help_text="roas, ctr, cpc, cpa or engagement.")
    n = strict.IntegerField(help_text="Predictions with both a predicted and an actual value.")
    mae = strict.FloatField(
        allow_null=True, help_text="Mean absolute error, mean |predicted - actual| (null beyond a double)."
    )
    mape = strict.FloatField(
        allow_null=True, help_text="Mean absolute percentage error as a fraction, over rows whose actual is not 0."
    )
    mape_n = strict.IntegerField(help_text="Rows MAPE is computed over.")
    rmse = strict.FloatField(allow_null=True, help_text="Root mean squared error (null beyond a double).")
    bias = strict.FloatField(
        allow_null=True, help_text="Mean of predicted - actual: positive means over-prediction (null beyond a double)."
    )
    undefined = serializers.DictField(child=strict.CharField(), help_text="Why a figure is null.")


class ModelAccuracySerializer(serializers.Serializer):
    """One model type and version."""

    model_type = strict.CharField()
    model_version = strict.CharField()
    predictions = strict.IntegerField()
    with_actuals = strict.IntegerField(help_text="Predictions with at least one actual value.")
    mean_prediction_error = strict.FloatField(allow_null=True, help_text="Mean of the stored prediction_error.")
    first_predicted_at = serializers.DateTimeField()
    last_predicted_at = serializers.DateTimeField()
    metrics = MetricAccuracySerializer(many=True)
