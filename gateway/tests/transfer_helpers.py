"""Helpers for the export and import tests: the console's URLs, uploads and parsed files."""

import csv
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

CSV, XLSX = "0", "1"  # the indexes of the formats in the console's forms (TransferAdminMixin.formats)


def export_url(model, query: str = "") -> str:
    opts = model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/export/" + (f"?{query}" if query else "")


def import_url(model) -> str:
    opts = model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/import/"


def process_import_url(model) -> str:
    opts = model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/process_import/"


def download_url(export) -> str:
    return f"/admin/gateway/adminexport/{export.pk}/download/"


def export(client, model, query: str = "", file_format: str = CSV):
    """POST the export form of ``model``'s changelist with ``query`` (its filters, search, ordering)."""
    return client.post(export_url(model, query), {"format": file_format, "resource": "0"})


def csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_rows(content: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def csv_file(rows: list[list], name: str = "rows.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    output = io.StringIO()
    csv.writer(output).writerows(rows)
    return SimpleUploadedFile(name, output.getvalue().encode(encoding), content_type="text/csv")


def upload(client, model, file, file_format: str = CSV):
    """POST a file to ``model``'s import page: the dry run."""
    return client.post(import_url(model), {"import_file": file, "format": file_format, "resource": "0"})


def confirm(client, model, response, *, skip_bad_rows: bool = False):
    """POST the confirmation a dry run's page offers (with ``skip_bad_rows``, the "skip the bad rows" one)."""
    form = response.context["skip_form" if skip_bad_rows else "confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    data = {name: value for name, value in data.items() if value is not None}
    return client.post(process_import_url(model), data, follow=True)
