"""What the staff console exports of assets, clips and predictions, and how it imports clips' scores.

Plugged into ``media.admin`` through ``gateway.admin.transfer.TransferAdminMixin`` (docs/CONSOLE.md). The scores
import takes the columns of the clips export (other columns are ignored), so an exported list comes back with
its scores corrected: each changed row goes through ``clip_set_scores``, validated by the API's
``ClipScoresSerializer``.
"""

from import_export.fields import Field

from gateway.resources import ExportResource, ServiceResource, UUIDWidget
from media.api.serializers import ClipScoresSerializer
from media.models import Asset, Clip, Prediction
from media.services import clip_set_scores

RECORD = ("created_at", "updated_at")


class AssetResource(ExportResource):
    """An asset per line, with its owner's email and its clip count (the changelist's figure)."""

    owner_email = Field(attribute="user__email", column_name="owner_email", readonly=True)
    clip_count = Field(attribute="clip_count", column_name="clip_count", readonly=True)

    class Meta:
        model = Asset
        fields = (
            "id", "user", "owner_email", "original_name", "filename", "mime_type", "file_size", "status",
            "processing_error", "duration", "width", "height", "fps", "bitrate", "codec", "clip_count",
            "gcs_url", "gcs_bucket", "gcs_path", "thumbnail_url", *RECORD, "deleted_at",
        )  # fmt: skip
        export_order = fields


SCORE_COLUMNS = ("score", "viral_score", "engagement_score", "brand_safety_score", "rank", "status")


class ClipResource(ExportResource):
    """A clip per line: its asset, time range, analysis flags and scores (the columns the scores import reads)."""

    asset_name = Field(attribute="asset__original_name", column_name="asset_name", readonly=True)

    class Meta:
        model = Clip
        fields = (
            "id", "asset", "asset_name", "start_time", "end_time", "duration", *SCORE_COLUMNS, "face_count",
            "has_text", "has_speech", "has_music", "clip_url", "thumbnail_url", *RECORD, "deleted_at",
        )  # fmt: skip
        export_order = fields


class ClipScoresResource(ServiceResource):
    """Clips' scores, rank and status by clip id, written through ``clip_set_scores`` as the API's ``scores`` action.

    Existing clips only; a row changing nothing is reported unchanged and not written.
    """

    id = Field(attribute="id", column_name="id", widget=UUIDWidget())

    class Meta:
        model = Clip
        fields = ("id", *SCORE_COLUMNS)
        import_id_fields = ("id",)

    def write(self, *, instance, changes, new):
        if not changes:
            return instance
        body = ClipScoresSerializer(data=changes)
        body.is_valid(raise_exception=True)
        return clip_set_scores(clip=instance, **body.validated_data)


class PredictionResource(ExportResource):
    """A prediction per line: its clip, model, predicted and actual figures, confidence and error."""

    class Meta:
        model = Prediction
        fields = (
            "id", "clip", "model_type", "model_version", "predicted_roas", "predicted_ctr", "predicted_cpc",
            "predicted_cpa", "predicted_engagement", "actual_roas", "actual_ctr", "actual_cpc", "actual_cpa",
            "actual_engagement", "confidence", "prediction_error", *RECORD,
        )  # fmt: skip
        export_order = fields
