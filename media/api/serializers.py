"""Serializers of assets, clips, predictions and performance metrics."""

from decimal import Decimal

from rest_framework import serializers

from gateway.api import strict
from gateway.api.fields import (
    JSONObjectField,
    PositiveFloatField,
    Range,
    ScopedPrimaryKeyRelatedField,
    UniqueOrNullValidator,
)
from gateway.api.representation import NestedRowsSerializer
from gateway.api.serializers import ModelSerializer, Serializer
from media.choices import AssetStatus, ClipStatus
from media.models import Asset, Clip, PerformanceMetric, Prediction
from media.services import asset_update, clip_update, prediction_create, prediction_update
from users.api.serializers import OwnerField, UserSummarySerializer

UNIT_INTERVAL = {"min_value": 0.0, "max_value": 1.0}
NON_NEGATIVE_DECIMAL = {"min_value": Decimal("0")}
PREDICTION_METRIC_FIELDS = [f"{kind}_{metric}" for kind in ("predicted", "actual") for metric in Prediction.METRICS]


class AssetSerializer(ModelSerializer):
    """An asset. ``status`` changes after creation follow the allowed transitions (see ``status/``)."""

    user = OwnerField(required=False)
    fps = PositiveFloatField(required=False, allow_null=True)
    gcs_url = strict.CharField(
        max_length=1024,
        validators=[
            UniqueOrNullValidator(
                queryset=Asset.all_objects.all(), message="An asset with this gcs_url already exists."
            )
        ],
    )
    metadata = JSONObjectField(required=False)

    class Meta:
        model = Asset
        fields = [
            "id",
            "user",
            "filename",
            "original_name",
            "mime_type",
            "file_size",
            "gcs_url",
            "gcs_bucket",
            "gcs_path",
            "thumbnail_url",
            "duration",
            "width",
            "height",
            "fps",
            "bitrate",
            "codec",
            "status",
            "processing_error",
            "metadata",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "deleted_at"]
        extra_kwargs = {
            "file_size": {"min_value": 0},
            "duration": {"min_value": 0.0},
            "width": {"min_value": 1},
            "height": {"min_value": 1},
            "bitrate": {"min_value": 0},
        }

    def update(self, instance, validated_data):
        return asset_update(asset=instance, **validated_data)


class AssetSummarySerializer(ModelSerializer):
    """The asset a clip belongs to, embedded in clip details and top clips."""

    class Meta:
        model = Asset
        fields = ["id", "user", "filename", "original_name", "mime_type", "gcs_url", "duration", "status"]
        read_only_fields = fields


class PredictionSerializer(ModelSerializer):
    """A prediction. ``clip`` is set at creation only; ``prediction_error`` is computed from the predicted and
    actual values on every save."""

    clip = ScopedPrimaryKeyRelatedField(Clip)
    features = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)

    class Meta:
        model = Prediction
        fields = [
            "id",
            "clip",
            "model_version",
            "model_type",
            *PREDICTION_METRIC_FIELDS,
            "features",
            "confidence",
            "prediction_error",
            "metadata",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "prediction_error", "created_at", "updated_at"]
        create_only_fields = ["clip"]
        extra_kwargs = {"confidence": UNIT_INTERVAL}

    def create(self, validated_data):
        return prediction_create(**validated_data)

    def update(self, instance, validated_data):
        return prediction_update(prediction=instance, **validated_data)


class ClipSerializer(ModelSerializer):
    """A clip. ``asset`` is set at creation only; ``duration`` is computed by the database; ``status`` changes
    follow the allowed transitions."""

    asset = ScopedPrimaryKeyRelatedField(Asset)
    features = JSONObjectField(required=False)
    metadata = JSONObjectField(required=False)
    ranges = (Range(low="start_time", high="end_time", message="Must be after start_time.", strict=True),)

    class Meta:
        model = Clip
        fields = [
            "id",
            "asset",
            "start_time",
            "end_time",
            "duration",
            "clip_url",
            "thumbnail_url",
            "features",
            "face_count",
            "has_text",
            "has_speech",
            "has_music",
            "score",
            "viral_score",
            "engagement_score",
            "brand_safety_score",
            "rank",
            "status",
            "metadata",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "duration", "created_at", "updated_at", "deleted_at"]
        create_only_fields = ["asset"]
        extra_kwargs = {
            "start_time": {"min_value": 0.0},
            "face_count": {"min_value": 0},
            "rank": {"min_value": 1},
            "score": UNIT_INTERVAL,
            "viral_score": UNIT_INTERVAL,
            "engagement_score": UNIT_INTERVAL,
            "brand_safety_score": UNIT_INTERVAL,
        }

    def update(self, instance, validated_data):
        return clip_update(clip=instance, **validated_data)


class ClipWithAssetSerializer(ClipSerializer):
    """A clip with a summary of its asset (top clips)."""

    asset_summary = AssetSummarySerializer(source="asset", read_only=True)

    class Meta(ClipSerializer.Meta):
        fields = [*ClipSerializer.Meta.fields, "asset_summary"]


class ClipDetailSerializer(ClipWithAssetSerializer):
    """A clip with its asset and its predictions."""

    # Read as rows (one values() query, no model instances), newest first.
    predictions = NestedRowsSerializer(child=PredictionSerializer(), rows=lambda pk: Prediction.objects.of_clip(pk))

    class Meta(ClipWithAssetSerializer.Meta):
        fields = [*ClipWithAssetSerializer.Meta.fields, "predictions"]


class AssetDetailSerializer(AssetSerializer):
    """An asset with its owner's summary and its (live) clips."""

    user_summary = UserSummarySerializer(source="user", read_only=True)
    # Read as rows (one values() query, no model instances): an asset may have hundreds of clips.
    clips = NestedRowsSerializer(child=ClipSerializer(), rows=lambda pk: Clip.objects.of_asset(pk))

    class Meta(AssetSerializer.Meta):
        fields = [*AssetSerializer.Meta.fields, "user_summary", "clips"]


class PerformanceMetricSerializer(ModelSerializer):
    """One day of an asset's performance on one platform; (asset, platform, date) is unique."""

    asset = ScopedPrimaryKeyRelatedField(Asset)

    class Meta:
        model = PerformanceMetric
        fields = [
            "id",
            "asset",
            "platform",
            "date",
            "impressions",
            "clicks",
            "conversions",
            "spend",
            "revenue",
            "roas",
            "ctr",
            "raw_data",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The (asset, platform, date) check is in validate(), so its error names a field.
        validators = []
        extra_kwargs = {
            "impressions": {"min_value": 0},
            "clicks": {"min_value": 0},
            "conversions": {"min_value": 0},
            "spend": NON_NEGATIVE_DECIMAL,
            "revenue": NON_NEGATIVE_DECIMAL,
            "ctr": {"min_value": Decimal("0")},
        }

    def validate(self, attrs):
        instance = self.instance
        asset = attrs.get("asset", getattr(instance, "asset", None))
        platform = attrs.get("platform", getattr(instance, "platform", None) or "meta")
        date = attrs.get("date", getattr(instance, "date", None))
        duplicates = PerformanceMetric.objects.filter(asset=asset, platform=platform, date=date)
        if instance is not None:
            duplicates = duplicates.exclude(pk=instance.pk)
        if asset is not None and date is not None and duplicates.exists():
            raise serializers.ValidationError(
                {"date": [f"This asset already has a {platform} metric for {date.isoformat()}."]}
            )
        return attrs


class AssetStatusSerializer(Serializer):
    """Input of ``POST assets/{id}/status/``."""

    status = serializers.ChoiceField(choices=AssetStatus.choices)
    processing_error = strict.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Why processing failed. Leaving FAILED without a new error clears the old one.",
    )


class ClipScoresSerializer(Serializer):
    """Input of ``POST clips/{id}/scores/``: any of the scores (null clears one), rank and status."""

    score = strict.FloatField(required=False, allow_null=True, **UNIT_INTERVAL)
    viral_score = strict.FloatField(required=False, allow_null=True, **UNIT_INTERVAL)
    engagement_score = strict.FloatField(required=False, allow_null=True, **UNIT_INTERVAL)
    brand_safety_score = strict.FloatField(required=False, allow_null=True, **UNIT_INTERVAL)
    rank = strict.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
    status = serializers.ChoiceField(
        choices=ClipStatus.choices,
        required=False,
        help_text="Defaults to SCORED when a score is given to a PENDING or ANALYZED clip.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Give at least one score, rank or status."]})
        return attrs


class PredictionActualsSerializer(Serializer):
    """Input of ``POST predictions/{id}/actuals/``: any of the five actual metrics."""

    actual_roas = strict.FloatField(required=False, allow_null=True)
    actual_ctr = strict.FloatField(required=False, allow_null=True)
    actual_cpc = strict.FloatField(required=False, allow_null=True)
    actual_cpa = strict.FloatField(required=False, allow_null=True)
    actual_engagement = strict.FloatField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Give at least one actual metric."]})
        return attrs


class TopClipsQuerySerializer(Serializer):
    """Query of ``GET clips/top/``."""

    asset = strict.UUIDField(required=False, help_text="Only this asset's clips.")
    limit = strict.IntegerField(required=False, default=10, min_value=1, max_value=100)
    min_score = strict.FloatField(required=False, **UNIT_INTERVAL)
