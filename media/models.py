"""Video assets, the clips cut from them, predictions on clips and daily performance of assets."""

from django.conf import settings
from django.contrib.postgres.indexes import HashIndex
from django.db import models
from django.db.models import F, Q

from gateway.history import tracked
from gateway.models import BaseModel, JSONField, SoftDeleteModel, substring_search_index
from media.choices import AssetStatus, ClipStatus
from media.querysets import (
    AssetManager,
    AssetQuerySet,
    ClipManager,
    ClipQuerySet,
    PerformanceMetricQuerySet,
    PredictionQuerySet,
)

UNIT_INTERVAL_SCORES = ("score", "viral_score", "engagement_score", "brand_safety_score")


@tracked()
class Asset(SoftDeleteModel):
    """An uploaded video stored in Google Cloud Storage."""

    soft_delete_children = ("clips",)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assets", verbose_name="user", db_index=False
    )
    filename = models.CharField("filename", max_length=255)
    original_name = models.CharField("original name", max_length=255)
    mime_type = models.CharField("MIME type", max_length=100)
    file_size = models.BigIntegerField("file size (bytes)")
    gcs_url = models.CharField("GCS URL", max_length=1024)
    gcs_bucket = models.CharField("GCS bucket", max_length=255)
    gcs_path = models.CharField("GCS path", max_length=1024)
    thumbnail_url = models.CharField("thumbnail URL", max_length=1024, null=True, blank=True)
    duration = models.FloatField("duration (s)", null=True, blank=True)
    width = models.IntegerField("width (px)", null=True, blank=True)
    height = models.IntegerField("height (px)", null=True, blank=True)
    fps = models.FloatField("frames per second", null=True, blank=True)
    bitrate = models.BigIntegerField("bitrate (bit/s)", null=True, blank=True)
    codec = models.CharField("codec", max_length=50, null=True, blank=True)
    status = models.CharField("status", max_length=16, choices=AssetStatus.choices, default=AssetStatus.PENDING)
    processing_error = models.TextField("processing error", null=True, blank=True)
    metadata = JSONField("metadata", default=dict, blank=True)

    objects = AssetManager()
    all_objects = models.Manager.from_queryset(AssetQuerySet)()

    class Meta:
        db_table = "assets"
        verbose_name = "asset"
        verbose_name_plural = "assets"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["gcs_url"], name="media_asset_gcs_url_unique"),
            models.CheckConstraint(condition=Q(file_size__gte=0), name="media_asset_file_size_non_negative"),
            models.CheckConstraint(condition=Q(duration__gte=0), name="media_asset_duration_non_negative"),
            models.CheckConstraint(condition=Q(width__gt=0), name="media_asset_width_positive"),
            models.CheckConstraint(condition=Q(height__gt=0), name="media_asset_height_positive"),
            models.CheckConstraint(condition=Q(fps__gt=0), name="media_asset_fps_positive"),
            models.CheckConstraint(condition=Q(bitrate__gte=0), name="media_asset_bitrate_non_negative"),
            models.CheckConstraint(condition=Q(status__in=AssetStatus.values), name="media_asset_status_valid"),
        ]
        indexes = [
            models.Index(fields=["user"], name="media_asset_user_idx"),
            models.Index(fields=["status"], name="media_asset_status_idx"),
            models.Index(fields=["created_at"], name="media_asset_created_at_idx"),
            # The admin's "deleted" list: few rows, newest first, without walking the whole table.
            models.Index(fields=["created_at"], name="media_asset_deleted_idx", condition=Q(deleted_at__isnull=False)),
            # The console's search by name or filename (assets, clips by their asset's name, the global search).
            substring_search_index("original_name", "media_asset_name_trgm_idx"),
            substring_search_index("filename", "media_asset_filename_trgm_idx"),
        ]

    def __str__(self):
        return self.original_name or self.filename


@tracked()
class Clip(SoftDeleteModel):
    """A scored segment of an asset; ``duration`` is computed by the database from the times."""

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="clips", verbose_name="asset", db_index=False
    )
    start_time = models.FloatField("start time (s)")
    end_time = models.FloatField("end time (s)")
    duration = models.GeneratedField(
        verbose_name="duration (s)",
        expression=F("end_time") - F("start_time"),
        output_field=models.FloatField(),
        db_persist=True,
    )
    clip_url = models.CharField("clip URL", max_length=1024, null=True, blank=True)
    thumbnail_url = models.CharField("thumbnail URL", max_length=1024, null=True, blank=True)
    features = JSONField("features", default=dict, blank=True)
    face_count = models.IntegerField("face count", null=True, blank=True)
    has_text = models.BooleanField("has text", default=False)
    has_speech = models.BooleanField("has speech", default=False)
    has_music = models.BooleanField("has music", default=False)
    score = models.FloatField("score", null=True, blank=True)
    viral_score = models.FloatField("viral score", null=True, blank=True)
    engagement_score = models.FloatField("engagement score", null=True, blank=True)
    brand_safety_score = models.FloatField("brand safety score", null=True, blank=True)
    rank = models.IntegerField("rank", null=True, blank=True)
    status = models.CharField("status", max_length=16, choices=ClipStatus.choices, default=ClipStatus.PENDING)
    metadata = JSONField("metadata", default=dict, blank=True)

    objects = ClipManager()
    all_objects = models.Manager.from_queryset(ClipQuerySet)()

    class Meta:
        db_table = "clips"
        verbose_name = "clip"
        verbose_name_plural = "clips"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        constraints = [
            models.CheckConstraint(condition=Q(start_time__gte=0), name="media_clip_start_time_non_negative"),
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="media_clip_end_after_start"),
            models.CheckConstraint(condition=Q(face_count__gte=0), name="media_clip_face_count_non_negative"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="media_clip_rank_positive"),
            models.CheckConstraint(condition=Q(status__in=ClipStatus.values), name="media_clip_status_valid"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{field}__gte": 0, f"{field}__lte": 1}), name=f"media_clip_{field}_in_unit_interval"
                )
                for field in UNIT_INTERVAL_SCORES
            ),
        ]
        indexes = [
            models.Index(fields=["asset"], name="media_clip_asset_idx"),
            models.Index(fields=["score"], name="media_clip_score_idx"),
            models.Index(fields=["rank"], name="media_clip_rank_idx"),
            models.Index(fields=["status"], name="media_clip_status_idx"),
            models.Index(fields=["created_at"], name="media_clip_created_at_idx"),
            # "Top clips": scored, not deleted, by asset, best first, read straight off the index.
            models.Index(
                F("asset"),
                F("score").desc(),
                name="media_clip_top_idx",
                condition=Q(deleted_at__isnull=True, score__isnull=False),
            ),
            # The admin's "deleted" list and its search by clip URL (equality: a hash index has no size limit).
            models.Index(fields=["created_at"], name="media_clip_deleted_idx", condition=Q(deleted_at__isnull=False)),
            HashIndex(fields=["clip_url"], name="media_clip_url_idx"),
            # Live clips by status, then score: `?status=SCORED&ordering=-score` reads its page straight off it
            # (the score index alone first walks past every unscored clip), and counts them index-only.
            models.Index(
                fields=["status", "score"], name="media_clip_live_status_idx", condition=Q(deleted_at__isnull=True)
            ),
        ]

    def __str__(self):
        """The asset's name and the segment, e.g. "launch.mp4 [80s–95s]" (reads ``asset``: select it with the clip)."""
        return f"{self.asset} [{self.start_time:g}s–{self.end_time:g}s]"


@tracked()
class Prediction(BaseModel):
    """An ML model's forecast of a clip's ad performance, and the actual figures when they arrive."""

    clip = models.ForeignKey(
        Clip, on_delete=models.CASCADE, related_name="predictions", verbose_name="clip", db_index=False
    )
    model_version = models.CharField("model version", max_length=50)
    model_type = models.CharField("model type", max_length=50, default="roas")
    predicted_roas = models.FloatField("predicted ROAS", null=True, blank=True)
    predicted_ctr = models.FloatField("predicted CTR", null=True, blank=True)
    predicted_cpc = models.FloatField("predicted CPC", null=True, blank=True)
    predicted_cpa = models.FloatField("predicted CPA", null=True, blank=True)
    predicted_engagement = models.FloatField("predicted engagement", null=True, blank=True)
    actual_roas = models.FloatField("actual ROAS", null=True, blank=True)
    actual_ctr = models.FloatField("actual CTR", null=True, blank=True)
    actual_cpc = models.FloatField("actual CPC", null=True, blank=True)
    actual_cpa = models.FloatField("actual CPA", null=True, blank=True)
    actual_engagement = models.FloatField("actual engagement", null=True, blank=True)
    features = JSONField("features", default=dict, blank=True)
    confidence = models.FloatField("confidence", null=True, blank=True)
    prediction_error = models.FloatField("prediction error", null=True, blank=True)
    metadata = JSONField("metadata", default=dict, blank=True)

    METRICS = ("roas", "ctr", "cpc", "cpa", "engagement")

    objects = PredictionQuerySet.as_manager()

    class Meta:
        db_table = "predictions"
        verbose_name = "prediction"
        verbose_name_plural = "predictions"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="media_prediction_confidence_in_unit_interval"
            ),
            models.CheckConstraint(
                condition=Q(prediction_error__gte=0), name="media_prediction_prediction_error_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["clip"], name="media_pred_clip_idx"),
            models.Index(fields=["model_version"], name="media_pred_version_idx"),
            models.Index(fields=["created_at"], name="media_pred_created_at_idx"),
        ]

    def __str__(self):
        return f"{self.model_type} {self.model_version} for clip {self.clip_id}"


class PerformanceMetric(BaseModel):
    """One day of an asset's ad performance on one platform (unique per asset, platform and date)."""

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="performance_metrics", verbose_name="asset", db_index=False
    )
    platform = models.CharField("platform", max_length=50, default="meta")
    date = models.DateField("date")
    impressions = models.BigIntegerField("impressions", default=0)
    clicks = models.BigIntegerField("clicks", default=0)
    conversions = models.BigIntegerField("conversions", default=0)
    spend = models.DecimalField("spend", max_digits=10, decimal_places=2, default=0)
    revenue = models.DecimalField("revenue", max_digits=10, decimal_places=2, default=0)
    roas = models.DecimalField("ROAS", max_digits=10, decimal_places=2, default=0)
    ctr = models.DecimalField("CTR", max_digits=5, decimal_places=4, null=True, blank=True)
    raw_data = JSONField("raw data", null=True, blank=True)

    objects = PerformanceMetricQuerySet.as_manager()

    class Meta:
        db_table = "performance_metrics"
        verbose_name = "performance metric"
        verbose_name_plural = "performance metrics"
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "platform", "date"], name="media_performancemetric_asset_platform_date_unique"
            ),
            models.CheckConstraint(
                condition=Q(impressions__gte=0), name="media_performancemetric_impressions_non_negative"
            ),
            models.CheckConstraint(condition=Q(clicks__gte=0), name="media_performancemetric_clicks_non_negative"),
            models.CheckConstraint(
                condition=Q(conversions__gte=0), name="media_performancemetric_conversions_non_negative"
            ),
            models.CheckConstraint(condition=Q(spend__gte=0), name="media_performancemetric_spend_non_negative"),
            models.CheckConstraint(condition=Q(revenue__gte=0), name="media_performancemetric_revenue_non_negative"),
        ]
        indexes = [
            models.Index(fields=["asset"], name="media_perfmetric_asset_idx"),
            # Carries the summed figures, so the console's daily and period totals read the index alone.
            models.Index(
                fields=["date"],
                include=["spend", "revenue", "impressions", "clicks", "conversions"],
                name="media_perfmetric_date_sums_idx",
            ),
            models.Index(fields=["platform"], name="media_perfmetric_platform_idx"),
        ]

    def __str__(self):
        return f"{self.asset_id} {self.platform} {self.date}"
