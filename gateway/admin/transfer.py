"""Export and import of changelists (django-import-export), plugged into a model admin by :class:`TransferAdminMixin`.

- **Export** (the changelist's "Export" button): CSV or XLSX of the changelist as shown (filters, search,
  ordering; the rows the model admin's ``get_queryset`` gives). Up to ``ADMIN_EXPORT_SYNC_ROWS`` rows the
  file is the answer; beyond, the export is queued as a job (``gateway.transfer.export_queue``) and the
  staff member finds the file on the "Exports" page when it is ready.
- **Import** (the "Import" button, on admins that declare an ``import_resource_class``): a dry run first, in a
  transaction rolled back, that shows what would change row by row and lists each bad row with its line and
  message. Nothing is written while a row is bad, unless the staff member chooses to skip the bad rows. A file
  that cannot be read (wrong columns, wrong encoding, an XLSX that is not one, too big) is a message on the page.
  Rows go through the app's services (``gateway.resources.ServiceResource``).

The uploaded file waits for its confirmation in PostgreSQL (:class:`DatabaseTmpStorage`), so the confirmation may
reach any app server.
"""

import csv
import io
import itertools
import uuid
import zipfile

import openpyxl
import tablib
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import BINARY_FORMATS, CSV, XLSX
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm
from import_export.tmp_storages import BaseStorage

from gateway.models import ImportUpload
from gateway.tasks import export_changelist
from gateway.transfer import export_queue


class DatabaseTmpStorage(BaseStorage):
    """django-import-export's temporary storage of an upload, in PostgreSQL (``ImportUpload``): any server reads it."""

    def save(self, data):
        content = data.encode(self.encoding or "utf-8") if isinstance(data, str) else bytes(data)
        self.name = str(ImportUpload.objects.create(content=content).pk)

    def read(self):
        content = bytes(self._upload().content)
        return content if "b" in self.read_mode else content.decode(self.encoding or "utf-8")

    def remove(self):
        ImportUpload.objects.filter(pk=self._pk()).delete()

    def _pk(self):
        try:
            return uuid.UUID(str(self.name))
        except ValueError:
            return None

    def _upload(self) -> ImportUpload:
        pk = self._pk()
        upload = ImportUpload.objects.filter(pk=pk).first() if pk else None
        if upload is None:
            raise FileNotFoundError("The uploaded file is gone: it was imported already, or expired. Upload it again.")
        return upload


class TooManyRows(ValueError):
    """An import file with more rows than ``ADMIN_IMPORT_MAX_ROWS``, found before it is read into memory."""

    def __init__(self):
        limit = settings.ADMIN_IMPORT_MAX_ROWS
        super().__init__(f"The file has more than {limit:,} rows; an import takes at most {limit:,}. Split it.")


class BoundedCSV(CSV):
    """CSV whose rows are counted before they are read: a few megabytes of short lines are millions of rows."""

    def create_dataset(self, in_stream):
        limit = settings.ADMIN_IMPORT_MAX_ROWS
        if sum(1 for _ in itertools.islice(csv.reader(io.StringIO(in_stream)), limit + 2)) > limit + 1:
            raise TooManyRows
        return super().create_dataset(in_stream)


class BoundedXLSX(XLSX):
    """XLSX read up to ``ADMIN_IMPORT_MAX_ROWS`` rows (a small workbook may unpack into millions), trailing blank rows
    left out.

    The library's reading, with the limit: values of formula cells, the first sheet, its first row as headers.
    """

    def create_dataset(self, in_stream):
        book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        rows = book.active.iter_rows(values_only=True)
        dataset = tablib.Dataset()
        dataset.headers = list(next(rows, ()))
        blank = 0
        for values in rows:
            if all(value is None for value in values):
                # Kept only when a row follows, so lines keep their numbers and trailing formatted rows cost nothing.
                blank += 1
                continue
            if len(dataset) + blank >= settings.ADMIN_IMPORT_MAX_ROWS:
                raise TooManyRows
            for _ in range(blank):
                dataset.append([None] * len(values))
            blank = 0
            dataset.append(values)
        return dataset


class TransferImportForm(ImportForm):
    """The upload form, refusing a file larger than ``ADMIN_IMPORT_MAX_BYTES`` before anything reads it."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.ADMIN_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1_048_576:.1f} MB; an import takes at most {limit / 1_048_576:.1f} MB. "
                "Split it into several files."
            )
        return upload


class TransferConfirmForm(ConfirmImportForm):
    """The confirmation of an import; ``skip_bad_rows`` when the staff member chose to write only the good rows."""

    skip_bad_rows = forms.BooleanField(required=False, widget=forms.HiddenInput())


def read_failure(error: Exception, file_format) -> str:
    """Why an uploaded file could not be read, in the staff member's words."""
    name = file_format.get_title().upper() if file_format is not None else "the chosen format"
    if isinstance(error, TooManyRows | FileNotFoundError):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return f"The file is not UTF-8 text: save it as {name} with UTF-8 encoding (or as XLSX) and upload it again."
    if isinstance(error, zipfile.BadZipFile | KeyError | OSError) and name == "XLSX":
        return "The file is not an XLSX workbook: choose the format the file really has, or save it as XLSX again."
    return f"The file could not be read as {name} ({type(error).__name__}: {error}). Check the chosen format."


class TransferAdminMixin(ImportExportMixin):
    """Export (every admin mixing it in) and import (admins with ``import_resource_class``); see the module docstring.

    Mixed in before the admin's base class: ``class ClipAdmin(TransferAdminMixin, SoftDeleteAdmin)``, with
    ``export_resource_class`` (the columns of an export) and optionally ``import_resource_class`` (a
    ``gateway.resources.ServiceResource``) from the app's ``resources.py``.
    """

    formats = (BoundedCSV, BoundedXLSX)
    export_form_class = ExportForm
    import_form_class = TransferImportForm
    confirm_form_class = TransferConfirmForm
    import_template_name = "admin/gateway/import.html"
    export_template_name = "admin/gateway/export.html"
    # A BOM, so that spreadsheet programs read a CSV export as UTF-8; an import accepts files with or without one.
    to_encoding = "utf-8-sig"
    from_encoding = "utf-8-sig"
    import_error_display = ("message",)
    export_resource_class = None
    import_resource_class = None

    def get_export_resource_classes(self, request):
        return [self.export_resource_class]

    def get_import_resource_classes(self, request):
        return [self.import_resource_class]

    # One resource each way: a form's "resource" index (a hidden field anyone can change) is not read.
    def choose_export_resource_class(self, form, request):
        return self.export_resource_class

    def choose_import_resource_class(self, form, request):
        return self.import_resource_class

    def admin_url(self, name: str) -> str:
        """The URL of this admin's page ``name`` (``changelist``, ``import``...)."""
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}")

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {"request": request}

    def has_import_permission(self, request):
        return self.import_resource_class is not None and super().has_import_permission(request)

    def get_export_queryset(self, request):
        """The changelist's rows, with the columns the export reads loaded (the list leaves big ones out)."""
        queryset = super().get_export_queryset(request)
        exported = {
            field.attribute.split("__")[0]
            for field in self.export_resource_class().get_export_fields()
            if field.attribute
        }
        kept_deferred = [name for name in getattr(self, "list_defer", ()) if name.split("__")[0] not in exported]
        return queryset.defer(None).defer(*kept_deferred)

    def export_content(self, request, queryset, file_format) -> tuple[bytes, int]:
        """The export file of ``queryset`` in ``file_format``, and its number of rows."""
        dataset = self.get_data_for_export(
            request, queryset, force_native_type=type(file_format) in BINARY_FORMATS, export_form=None
        )
        content = file_format.export_data(dataset)
        if not file_format.is_binary():
            content = content.encode(self.to_encoding)
        return content, len(dataset)

    def export_action(self, request):
        """The library's export, except that more than ``ADMIN_EXPORT_SYNC_ROWS`` rows are queued as a job.

        More than ``ADMIN_EXPORT_MAX_ROWS`` are refused with a message (the file is built in memory).
        """
        if not self.has_export_permission(request):
            raise PermissionDenied
        changelist = self.admin_url("changelist")
        try:
            queryset = self.get_export_queryset(request)
        except IncorrectLookupParameters:
            self.message_user(request, "The list's filters are not valid; nothing was exported.", messages.ERROR)
            return HttpResponseRedirect(f"{changelist}?e=1")
        formats = self.get_export_formats()
        form = self.get_export_form_class()(
            formats, self.get_export_resource_classes(request), data=request.POST or None
        )
        if not form.is_valid():
            return super().export_action(request)
        back = HttpResponseRedirect(f"{changelist}?{request.GET.urlencode()}" if request.GET else changelist)
        # Counted no further than the cap: a "count" of a million-row list would scan it all.
        rows = queryset.order_by()[: settings.ADMIN_EXPORT_MAX_ROWS + 1].count()
        if rows > settings.ADMIN_EXPORT_MAX_ROWS:
            self.message_user(
                request,
                f"The list holds more than {settings.ADMIN_EXPORT_MAX_ROWS:,} {self.opts.verbose_name_plural}, more "
                "than an export takes: narrow it with a filter or a search, and export each part.",
                messages.ERROR,
            )
            return back
        limit = settings.ADMIN_EXPORT_SYNC_ROWS
        if rows > limit:
            file_format = formats[int(form.cleaned_data["format"])]()
            export_queue(task=export_changelist, model_admin=self, request=request, file_format=file_format)
            self.message_user(
                request,
                format_html(
                    "More than {} {}: the export is being prepared in the background. "
                    '<a href="{}">Exports</a> offers the file when it is ready.',
                    f"{limit:,}",
                    self.opts.verbose_name_plural,
                    reverse("admin:gateway_adminexport_changelist"),
                ),
                messages.SUCCESS,
            )
            return back
        return super().export_action(request)

    def init_request_context_data(self, request, form):
        context = super().init_request_context_data(request, form)
        query = request.GET.urlencode()
        changelist = self.admin_url("changelist")
        return {
            **context,
            "export_query": query,
            "export_list_url": f"{changelist}?{query}" if query else changelist,
            "export_sync_rows": f"{settings.ADMIN_EXPORT_SYNC_ROWS:,}",
        }

    def add_data_read_fail_error_to_form(self, form, e):
        file_format = None
        if form.is_bound and form.is_valid():
            file_format = self.get_import_formats()[int(form.cleaned_data["format"])]()
        form.add_error("import_file", read_failure(e, file_format))

    def get_import_data_kwargs(self, **kwargs):
        """A bad row rolls the whole import back, unless the confirmation chose to skip the bad rows."""
        form = kwargs.pop("form", None)
        kwargs.pop("request", None)
        skip = bool(form is not None and form.is_bound and form.cleaned_data.get("skip_bad_rows"))
        return {**kwargs, "rollback_on_validation_errors": not skip}

    def import_action(self, request, **kwargs):
        """The library's upload and dry run; when only some rows are bad, it also offers to skip them."""
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is None:
            return response
        result = context.get("result")
        if result is not None and not result.has_errors() and result.has_validation_errors() and result.valid_rows():
            context["skip_form"] = self.create_confirm_form(request, import_form=context["form"])
            context["skip_form"].initial["skip_bad_rows"] = True
        return response

    def process_import(self, request, **kwargs):
        """The confirmed import: written unless a row fails now (then nothing is, and the rows are listed again)."""
        if request.method != "POST":
            return HttpResponseRedirect(self.admin_url("import"))
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return self._import_page(request, {})
        try:
            file_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](
                encoding=self.from_encoding
            )
        except (IndexError, ValueError):
            self.message_user(request, "Unknown file format; upload the file again.", messages.ERROR)
            return HttpResponseRedirect(self.admin_url("import"))
        storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            encoding=None if file_format.is_binary() else self.from_encoding,
            read_mode=file_format.get_read_mode(),
        )
        try:
            dataset = file_format.create_dataset(storage.read())
        except Exception as error:  # noqa: BLE001 - any unreadable file is a message, never a 500
            self.message_user(request, read_failure(error, file_format), messages.ERROR)
            return HttpResponseRedirect(self.admin_url("import"))
        result = self.process_dataset(dataset, confirm_form, request, **kwargs)
        skipped = confirm_form.cleaned_data.get("skip_bad_rows")
        if result.has_errors() or (result.has_validation_errors() and not skipped):
            self.message_user(request, "Nothing was written: some rows failed (listed below).", messages.ERROR)
            return self._import_page(request, {"result": result})
        storage.remove()
        if skipped and result.has_validation_errors():
            skipped_rows = len(result.invalid_rows)
            self.message_user(
                request,
                f"Skipped {skipped_rows} bad {'row' if skipped_rows == 1 else 'rows'}, as chosen: not written.",
                messages.WARNING,
            )
        return self.process_result(result, request)

    def _import_page(self, request, extra: dict):
        resource = self.import_resource_class(request=request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import",
            "opts": self.opts,
            "import_error_display": self.import_error_display,
            "fields_list": [
                (resource.get_display_name(), [field.column_name for field in resource.get_user_visible_fields()])
            ],
            # A blank upload form, to send the corrected file.
            "form": self.get_import_form_class(request)(
                self.get_import_formats(), self.get_import_resource_classes(request)
            ),
            **extra,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)
