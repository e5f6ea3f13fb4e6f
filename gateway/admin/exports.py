"""The "Exports" page: a staff member's changelist exports built by jobs, their state, and the download.

Each staff member sees (and downloads, and deletes) their own exports; a superuser sees everyone's. Someone
else's export is a 404, as for the API.
"""

from django.apps import apps
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from gateway.admin.base import BaseAdmin
from gateway.models import AdminExport, ExportState


@admin.register(AdminExport)
class AdminExportAdmin(BaseAdmin):
    list_display = ("file_label", "list_name", "state_display", "row_count", "created_at", "finished_at")
    list_filter = ("state", "model")
    list_defer = ("content", "query")
    list_select_related = ("owner",)
    search_fields = ()
    date_hierarchy = None
    fields = ("model", "query", "file_format", "state", "row_count", "file_name", "error", "job_id", "owner")
    readonly_fields = fields
    search_help_text = None

    def get_list_display(self, request):
        # A superuser sees everyone's exports, so whose each one is.
        display = super().get_list_display(request)
        return (*display, "owner") if request.user.is_superuser else display

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(owner=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        # The list holds only the staff member's own exports (get_queryset), so any staff member may see it.
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request) and (
            obj is None or request.user.is_superuser or obj.owner_id == request.user.pk
        )

    @admin.display(description="file", ordering="created_at")
    def file_label(self, obj):
        label = obj.file_name or f"{obj.model} ({obj.file_format})"
        if obj.state != ExportState.READY:
            return label
        return format_html('<a href="{}" class="gv-download">{}</a>', self.download_url(obj), label)

    @admin.display(description="list", ordering="model")
    def list_name(self, obj):
        try:
            return apps.get_model(obj.model)._meta.verbose_name_plural
        except LookupError:
            return obj.model

    @admin.display(description="state", ordering="state")
    def state_display(self, obj):
        if obj.state == ExportState.FAILED and obj.error:
            return format_html('<span class="gv-deleted" title="{}">failed: {}</span>', obj.error, obj.error[:80])
        return obj.get_state_display()

    @staticmethod
    def download_url(obj) -> str:
        return reverse("admin:gateway_adminexport_download", args=[obj.pk])

    def get_urls(self):
        return [
            path(
                "<uuid:export_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="gateway_adminexport_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, export_id):
        """The export's file, for its owner or a superuser only (anyone else: 404)."""
        if not self.has_view_permission(request):
            raise Http404
        export = get_object_or_404(self.get_queryset(request).defer(None), pk=export_id)
        if export.state != ExportState.READY:
            self.message_user(request, f"“{export}” is {export.get_state_display()}, not ready yet.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:gateway_adminexport_changelist"))
        response = HttpResponse(bytes(export.content), content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
        return response
