"""Changelist exports built by a job, and the purge of old export and import files (docs/CONSOLE.md).

An export larger than ``ADMIN_EXPORT_SYNC_ROWS`` rows is an ``AdminExport`` row queued with its job in one
transaction (:func:`export_queue`). The worker (:func:`export_run`, the task ``gateway.tasks.export_changelist``)
builds the changelist again as its owner sees it: the model admin registered for the model, a GET request
carrying the saved query string (filters, search, ordering) and the owner as the user, so the rows are those
the owner's changelist showed (and the owner must still be allowed to export them). The file is stored on the
row, in PostgreSQL, which every app server reaches.
"""

import logging

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.messages.storage.base import BaseStorage
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone

from gateway.jobs import TRANSIENT_ERRORS, defer
from gateway.models import AdminExport, ExportState, ImportUpload

logger = logging.getLogger(__name__)


def export_queue(*, task, model_admin, request, file_format) -> AdminExport:
    """Record an export of ``request``'s changelist of ``model_admin`` and queue ``task`` to build it.

    Both are written in one transaction: the export never waits for a job that was not queued.
    """
    opts = model_admin.opts
    with transaction.atomic():
        export = AdminExport.objects.create(
            owner=request.user,
            model=opts.label_lower,
            query=request.GET.urlencode(),
            file_format=file_format.get_extension(),
        )
        record = defer(task, user=request.user, export_id=str(export.pk))
        AdminExport.objects.filter(pk=export.pk).update(job_id=record.job_id)
        export.job_id = record.job_id
    return export


def export_run(*, export_id: str, last_attempt: bool = True) -> dict:
    """Build the file of export ``export_id`` and store it; idempotent (a READY export is left as it is).

    A transient database error is raised again (the job is retried) and leaves the export RUNNING, unless this
    is the job's ``last_attempt``: then, as any other failure, it marks the export FAILED with its reason, so the
    Exports page never shows an export running that no job will build.
    """
    export = AdminExport.objects.select_related("owner").defer("content").get(pk=export_id)
    if export.state == ExportState.READY:
        return {"export": export_id, "rows": export.row_count}
    AdminExport.objects.filter(pk=export.pk).update(state=ExportState.RUNNING)
    try:
        content, rows, file_name, content_type = _build(export)
    except Exception as error:
        if isinstance(error, TRANSIENT_ERRORS) and not last_attempt:
            raise
        logger.warning("export %s failed: %s: %s", export_id, type(error).__name__, error)
        AdminExport.objects.filter(pk=export.pk).update(
            state=ExportState.FAILED, error=str(error) or type(error).__name__, finished_at=timezone.now()
        )
        raise
    AdminExport.objects.filter(pk=export.pk).update(
        state=ExportState.READY,
        content=content,
        row_count=rows,
        file_name=file_name,
        content_type=content_type,
        error="",
        finished_at=timezone.now(),
    )
    return {"export": export_id, "rows": rows}


class ExportRefused(Exception):
    """The export cannot be built as asked (the owner may no longer export, the filters are not valid)."""


def _build(export: AdminExport) -> tuple[bytes, int, str, str]:
    model = apps.get_model(export.model)
    model_admin = admin.site.get_model_admin(model)
    request = changelist_request(model_admin, user=export.owner, query=export.query)
    if not (export.owner.is_active and export.owner.is_staff and model_admin.has_export_permission(request)):
        raise ExportRefused(f"{export.owner} may no longer export {model._meta.verbose_name_plural}.")
    formats = {fmt().get_extension(): fmt for fmt in model_admin.get_export_formats()}
    if export.file_format not in formats:
        raise ExportRefused(f"Unknown format {export.file_format!r}.")
    file_format = formats[export.file_format]()
    try:
        queryset = model_admin.get_export_queryset(request)
    except IncorrectLookupParameters as error:
        raise ExportRefused(f"The changelist's filters are not valid: {error}") from error
    content, rows = model_admin.export_content(request, queryset, file_format)
    return (
        content,
        rows,
        model_admin.get_export_filename(request, queryset, file_format),
        file_format.get_content_type(),
    )


def changelist_request(model_admin, *, user, query: str) -> HttpRequest:
    """A GET of ``model_admin``'s changelist with the query string ``query``, made by ``user`` (in a worker)."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(query)
    request.user = user
    request.path = request.path_info = reverse(
        f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist"
    )
    # A list filter may warn about a value it cannot use; nobody reads the worker's messages.
    request._messages = BaseStorage(request)
    return request


def transfer_files_purge(*, now=None) -> dict:
    """Delete exports older than ``ADMIN_EXPORT_RETENTION_HOURS`` and import uploads older than a day."""
    now = now or timezone.now()
    exports, _ = AdminExport.objects.filter(
        created_at__lt=now - timezone.timedelta(hours=settings.ADMIN_EXPORT_RETENTION_HOURS)
    ).delete()
    uploads, _ = ImportUpload.objects.filter(created_at__lt=now - timezone.timedelta(days=1)).delete()
    return {"exports": exports, "uploads": uploads}
