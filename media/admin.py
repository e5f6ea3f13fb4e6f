"""Staff console for assets, clips, predictions and performance metrics.

Status changes, clip scores and prediction actuals go through ``media.services``: the forms and
actions here collect the input and report the services' refusals.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.urls import path

from gateway.admin.actions import status_change_action
from gateway.admin.base import BaseAdmin, SoftDeleteAdmin
from gateway.admin.filters import id_filter, owner_filter, value_filter
from gateway.admin.formatting import fixed, percent, transitions_help, validation_message
from gateway.admin.inlines import ReadOnlyLatestInline
from gateway.admin.links import admin_link, owner_link
from gateway.admin.transfer import TransferAdminMixin
from gateway.services import copy_row
from media import admin_dashboard  # noqa: F401  (registers the home page's KPI tiles and work queues)
from media.analytics_admin import prediction_accuracy_view
from media.api.serializers import AssetSerializer, ClipSerializer, PerformanceMetricSerializer, PredictionSerializer
from media.choices import AssetStatus, ClipStatus
from media.models import Asset, Clip, PerformanceMetric, Prediction
from media.resources import AssetResource, ClipResource, ClipScoresResource, PredictionResource
from media.services import (
    ASSET_TRANSITIONS,
    CLIP_TRANSITIONS,
    asset_change_status,
    clip_change_status,
    clip_update,
    prediction_update,
)


class AssetStatusForm(forms.Form):
    status = forms.ChoiceField(choices=AssetStatus.choices, help_text=transitions_help(ASSET_TRANSITIONS))
    processing_error = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded on the asset (e.g. with FAILED); left empty, leaving FAILED clears the old error.",
    )


class ClipStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ClipStatus.choices, help_text=transitions_help(CLIP_TRANSITIONS))


class ClipInline(ReadOnlyLatestInline):
    model = Clip
    fields = (
        "short_id",
        "start_time",
        "end_time",
        "duration",
        "status",
        "score",
        "rank",
        "has_text",
        "has_speech",
        "has_music",
        "deleted_marker",
    )
    all_rows_param = "asset"


class PredictionInline(ReadOnlyLatestInline):
    model = Prediction
    fields = (
        "short_id",
        "model_type",
        "model_version",
        "predicted_roas",
        "actual_roas",
        "confidence",
        "prediction_error",
        "created_at",
    )
    all_rows_param = "clip"


@admin.register(Asset)
class AssetAdmin(TransferAdminMixin, SoftDeleteAdmin):
    export_resource_class = AssetResource
    api_serializer = AssetSerializer
    list_display = (
        "short_id",
        "original_name",
        "owner",
        "status",
        "size",
        "duration",
        "resolution",
        "clip_count",
        "created_at",
    )
    list_display_links = ("short_id", "original_name")
    list_filter = ("status", owner_filter(), "created_at")
    list_select_related = ("user",)
    list_defer = ("metadata", "processing_error")
    search_fields = ("original_name", "filename", "=gcs_url", "=user__email")
    global_search_fields = ("original_name", "=gcs_url")
    uuid_search_fields = ("pk", "user_id")
    search_help_text = (
        "A name or filename, the exact GCS URL or owner email, or an id (asset or owner, full or first 8 characters)."
    )
    date_hierarchy = "created_at"
    autocomplete_fields = ("user",)
    readonly_fields = ("clip_count", "owner")
    # Status moves only along the allowed transitions: the "Change status" action.
    change_readonly_fields = ("status",)
    change_only_fields = ("owner",)
    fieldsets = (
        ("File", {"fields": ("user", "owner", "original_name", "filename", "mime_type", "file_size")}),
        ("Storage", {"fields": ("gcs_url", "gcs_bucket", "gcs_path", "thumbnail_url")}),
        ("Video", {"fields": ("duration", "width", "height", "fps", "bitrate", "codec")}),
        ("Processing", {"fields": ("status", "processing_error", "clip_count")}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at", "deleted_at")}),
    )
    inlines = (ClipInline,)
    actions = ("change_status", "soft_delete_selected", "restore_selected")

    def get_queryset(self, request):
        # Clips alive, or deleted together with the asset (same stamp): what "restore" would bring back.
        clips = (
            Clip.all_objects.filter(asset=OuterRef("pk"))
            .filter(Q(deleted_at__isnull=True) | Q(deleted_at=OuterRef("deleted_at")))
            .order_by()
            .values("asset")
            .annotate(count=Count("*"))
            .values("count")
        )
        return super().get_queryset(request).annotate(clip_count=Coalesce(Subquery(clips), 0))

    @admin.display(description="owner", ordering="user__email")
    def owner(self, obj):
        return owner_link(obj.user_id, obj.user.email)

    @admin.display(description="size", ordering="file_size")
    def size(self, obj):
        return filesizeformat(obj.file_size)

    @admin.display(description="resolution")
    def resolution(self, obj):
        return f"{obj.width}×{obj.height}" if obj.width and obj.height else "–"

    # Sorting by it counts the clips of every asset in the list: filter a big list first.
    @admin.display(description="clips", ordering="clip_count")
    def clip_count(self, obj):
        return obj.clip_count

    change_status = status_change_action(
        form_class=AssetStatusForm,
        apply=lambda asset, data: asset_change_status(
            asset=asset, status=data["status"], processing_error=data["processing_error"] or None
        ),
    )


@admin.register(Clip)
class ClipAdmin(TransferAdminMixin, SoftDeleteAdmin):
    export_resource_class = ClipResource
    import_resource_class = ClipScoresResource
    api_serializer = ClipSerializer
    list_display = (
        "short_id",
        "asset_link",
        "owner",
        "time_range",
        "duration",
        "status",
        "score_display",
        "viral_score_display",
        "rank",
        "has_text",
        "has_speech",
        "has_music",
        "created_at",
    )
    list_filter = (
        "status",
        "has_text",
        "has_speech",
        "has_music",
        id_filter("asset", "asset"),
        owner_filter("asset__user"),
        "created_at",
    )
    list_select_related = ("asset", "asset__user")
    list_defer = ("features", "metadata", "asset__metadata", "asset__processing_error", "asset__user__settings")
    search_fields = ("=clip_url", "asset__original_name")
    global_search_fields = ("=clip_url",)
    uuid_search_fields = ("pk", "asset_id")
    search_help_text = "The asset's name, the exact clip URL, or an id (clip or asset, full or first 8 characters)."
    date_hierarchy = "created_at"
    autocomplete_fields = ("asset",)
    readonly_fields = ("duration",)
    change_readonly_fields = ("status",)
    fieldsets = (
        ("Segment", {"fields": ("asset", "start_time", "end_time", "duration")}),
        ("Media", {"fields": ("clip_url", "thumbnail_url")}),
        ("Analysis", {"fields": ("face_count", "has_text", "has_speech", "has_music", "features")}),
        ("Scores", {"fields": ("status", "score", "viral_score", "engagement_score", "brand_safety_score", "rank")}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at", "deleted_at")}),
    )
    inlines = (PredictionInline,)
    actions = ("change_status", "soft_delete_selected", "restore_selected")

    def get_queryset(self, request):
        # A clip's title names its asset (breadcrumbs, messages, the autocomplete of predictions and conversions).
        # All of the list's joins: the changelist adds its own only to a queryset that has none.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="asset", ordering="asset__original_name")
    def asset_link(self, obj):
        return admin_link(Asset, obj.asset_id, str(obj.asset))

    @admin.display(description="owner", ordering="asset__user__email")
    def owner(self, obj):
        return owner_link(obj.asset.user_id, obj.asset.user.email)

    @admin.display(description="time (s)", ordering="start_time")
    def time_range(self, obj):
        return f"{obj.start_time:g}–{obj.end_time:g}"

    @admin.display(description="score", ordering="score")
    def score_display(self, obj):
        return fixed(obj.score)

    @admin.display(description="viral", ordering="viral_score")
    def viral_score_display(self, obj):
        return fixed(obj.viral_score)

    def update_model(self, request, obj, fields):
        """The API's ``clip_update``: edited scores move a PENDING or ANALYZED clip to SCORED, in one write."""
        try:
            copy_row(clip_update(clip=obj, **fields), obj)
        except ValidationError as error:
            self.message_user(request, f"Not saved: {validation_message(error)}", messages.ERROR)

    change_status = status_change_action(
        form_class=ClipStatusForm, apply=lambda clip, data: clip_change_status(clip=clip, status=data["status"])
    )


@admin.register(Prediction)
class PredictionAdmin(TransferAdminMixin, BaseAdmin):
    export_resource_class = PredictionResource
    api_serializer = PredictionSerializer
    list_display = (
        "short_id",
        "clip_link",
        "model_type",
        "model_version",
        "predicted_roas",
        "actual_roas",
        "confidence",
        "error",
        "created_at",
    )
    list_filter = (
        value_filter("model_version", "model version"),
        value_filter("model_type", "model type"),
        id_filter("clip", "clip"),
        ("prediction_error", admin.EmptyFieldListFilter),
        "created_at",
    )
    list_defer = ("features", "metadata")
    search_fields = ("=model_version",)
    uuid_search_fields = ("pk", "clip_id")
    search_help_text = "An id (prediction or clip, full or first 8 characters), or the exact model version."
    date_hierarchy = "created_at"
    autocomplete_fields = ("clip",)
    readonly_fields = ("prediction_error",)
    change_list_template = "admin/analytics/prediction_change_list.html"
    fieldsets = (
        ("Model", {"fields": ("clip", "model_type", "model_version", "confidence")}),
        (
            "Predicted",
            {
                "fields": (
                    "predicted_roas",
                    "predicted_ctr",
                    "predicted_cpc",
                    "predicted_cpa",
                    "predicted_engagement",
                )
            },
        ),
        (
            "Actual",
            {
                "fields": (
                    "actual_roas",
                    "actual_ctr",
                    "actual_cpc",
                    "actual_cpa",
                    "actual_engagement",
                    "prediction_error",
                ),
                "description": "Saving actuals recomputes the prediction error (mean absolute percentage error).",
            },
        ),
        ("Features", {"fields": ("features",), "classes": ("collapse",)}),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at")}),
    )

    @admin.display(description="clip", ordering="clip_id")
    def clip_link(self, obj):
        return admin_link(Clip, obj.clip_id)

    @admin.display(description="error", ordering="prediction_error")
    def error(self, obj):
        return percent(obj.prediction_error)

    def get_urls(self):
        accuracy = self.admin_site.admin_view(lambda request: prediction_accuracy_view(self, request))
        return [path("accuracy/", accuracy, name="media_prediction_accuracy"), *super().get_urls()]

    def update_model(self, request, obj, fields):
        """Edits go through ``prediction_update``, which recomputes the error from the values as stored."""
        prediction_update(prediction=obj, **fields)


@admin.register(PerformanceMetric)
class PerformanceMetricAdmin(BaseAdmin):
    api_serializer = PerformanceMetricSerializer
    list_display = (
        "short_id",
        "asset_link",
        "platform",
        "date",
        "impressions",
        "clicks",
        "conversions",
        "spend",
        "revenue",
        "roas",
        "ctr_display",
    )
    list_filter = (
        value_filter("platform", "platform"),
        id_filter("asset", "asset"),
        owner_filter("asset__user"),
        "date",
    )
    list_select_related = ("asset",)
    list_defer = ("raw_data", "asset__metadata", "asset__processing_error")
    search_fields = ("=platform",)
    uuid_search_fields = ("pk", "asset_id")
    search_help_text = "An id (metric or asset, full or first 8 characters), or the exact platform."
    date_hierarchy = "date"
    autocomplete_fields = ("asset",)
    fieldsets = (
        (None, {"fields": ("asset", "platform", "date")}),
        ("Delivery", {"fields": ("impressions", "clicks", "conversions", "ctr")}),
        ("Money", {"fields": ("spend", "revenue", "roas")}),
        ("Raw data", {"fields": ("raw_data",), "classes": ("collapse",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at")}),
    )

    @admin.display(description="asset", ordering="asset__original_name")
    def asset_link(self, obj):
        return admin_link(Asset, obj.asset_id, str(obj.asset))

    @admin.display(description="CTR", ordering="ctr")
    def ctr_display(self, obj):
        return percent(obj.ctr, 2)
