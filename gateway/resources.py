"""The bases of every app's resources (django-import-export): what a changelist exports and how an import writes.

Each domain app declares its resources in ``<app>/resources.py`` and plugs them into its model admin through
``gateway.admin.transfer.TransferAdminMixin`` (docs/CONSOLE.md).

- :class:`ExportResource`: a model's columns for an export (times as ``YYYY-MM-DD HH:MM:SS`` UTC, ids as text).
- :class:`ServiceResource`: an import whose rows go through the app's services, validated as the API
  validates them. The cells are parsed by the fields' widgets; the fields a row changes are handed to
  :meth:`ServiceResource.write` as the JSON values the API takes, and ``write`` calls the API's serializer
  and the service. A refusal (DRF's or Django's ``ValidationError``) becomes the row's field-by-field errors,
  so the admin lists it with its line; the import runs in one transaction (rolled back for a dry run, or when
  a row fails and the staff member did not choose to skip the bad rows).
"""

import datetime
import decimal
import uuid
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone
from import_export import instance_loaders, resources, results, widgets
from rest_framework import exceptions as drf_exceptions

from gateway.services import copy_row

NON_FIELD = "__all__"


class DateTimeWidget(widgets.DateTimeWidget):
    """A date and time cell: ISO 8601 (a date alone is midnight), or a format Django reads; naive times are UTC."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str) and value.strip():
            try:
                parsed = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                return super().clean(value, row, **kwargs)
            return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
        return super().clean(value, row, **kwargs)


class ExportResource(resources.ModelResource):
    """The columns of a model's export; subclasses list them in ``Meta.fields`` (and ``export_order``)."""

    WIDGETS_MAP = {**resources.ModelResource.WIDGETS_MAP, "DateTimeField": DateTimeWidget}

    def __init__(self, request=None, **kwargs):
        super().__init__(**kwargs)
        self.request = request

    class Meta:
        # Rows are read in chunks from a server-side cursor, never all at once.
        chunk_size = 2_000


class CachedLoader(instance_loaders.ModelInstanceLoader):
    """The rows a file names, read in one query before the import (django-import-export's cached loader, except
    that a cell that is not a valid id finds nothing instead of failing the whole file)."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        self.field = resource.fields[resource.get_import_id_fields()[0]]
        keys = {self._key(row) for row in dataset.dict} if self.field.column_name in (dataset.headers or ()) else ()
        keys = {key for key in keys if key is not None}
        queryset = self.get_queryset().filter(**{f"{self.field.attribute}__in": keys}) if keys else ()
        self.instances = {self.field.get_value(instance): instance for instance in queryset}

    def _key(self, row):
        try:
            return self.field.clean(row)
        except (ValueError, ArithmeticError, TypeError, ValidationError):
            return None

    def get_instance(self, row):
        return self.instances.get(self._key(row))


class ServiceResource(ExportResource):
    """An import through the app's services; see the module docstring.

    Subclasses declare ``Meta.model``, ``Meta.fields`` (the columns a file may carry; ``id`` finds the row)
    and ``required_columns`` (the file is refused without them), and implement :meth:`write`.
    """

    required_columns: tuple[str, ...] = ("id",)
    # Whether a row with an empty id creates a row (otherwise it is refused, as a row with an unknown id is).
    creates = False

    class Meta:
        skip_unchanged = True
        report_skipped = True
        # The API's serializer and the service validate; the model's full_clean would ask again in other words.
        clean_model_instances = False
        use_transactions = True
        instance_loader_class = CachedLoader

    def before_import(self, dataset, **kwargs):
        """Refuse a file without the required columns, or with more rows than the console takes, as a whole."""
        headers = [str(header).strip() for header in dataset.headers or ()]
        missing = [column for column in self.required_columns if column not in headers]
        if missing:
            expected = ", ".join(field.column_name for field in self.get_import_fields())
            raise ValidationError(
                f"The file has no column {', '.join(missing)}. Its first line must name the columns; "
                f"this import reads: {expected}."
            )
        if len(dataset) > settings.ADMIN_IMPORT_MAX_ROWS:
            raise ValidationError(
                f"The file has {len(dataset):,} rows; an import takes at most {settings.ADMIN_IMPORT_MAX_ROWS:,}. "
                "Split it into several files."
            )
        dataset.headers = headers

    def import_row(self, row, instance_loader, **kwargs):
        """A row whose every cell is empty (a spreadsheet's blank line) is unchanged, not an error."""
        if all(value is None or str(value).strip() == "" for value in row.values()):
            result = self.get_row_result_class()()
            result.import_type = results.RowResult.IMPORT_TYPE_SKIP
            return result
        return super().import_row(row, instance_loader, **kwargs)

    def get_or_init_instance(self, instance_loader, row):
        instance, new = super().get_or_init_instance(instance_loader, row)
        given = str(row.get("id") or "").strip()
        if new and given:
            raise ValidationError({"id": f"No {self._meta.model._meta.verbose_name} with id {given} exists."})
        if new and not self.creates:
            raise ValidationError({"id": "The id is empty: this import changes existing rows only."})
        return instance, new

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        """Set one cell on the row; a cell that cannot be parsed is the row's error, worded for the column.

        An empty cell clears an optional value (the export writes none as an empty cell) and leaves a required
        one as it is (the library would put the field's default there: a clip's status back to PENDING).
        """
        before = getattr(instance, field.attribute, None) if field.attribute else None
        try:
            super().import_field(field, instance, row, is_m2m, **kwargs)
        except (ValueError, ArithmeticError, TypeError) as error:
            raise ValueError(f"“{row.get(field.column_name)}” is not a valid {expected(field.widget)}.") from error
        cell = row.get(field.column_name)
        if field.attribute and field.column_name in row and (cell is None or str(cell).strip() == ""):
            setattr(instance, field.attribute, None if self._nullable(field.attribute) else before)

    def get_instance(self, instance_loader, row):
        # A malformed id finds nothing (the row is then refused or created, as the subclass says), never an error.
        try:
            return super().get_instance(instance_loader, row)
        except (ValueError, ValidationError):
            return None

    def after_init_instance(self, instance, new, row, **kwargs):
        self._original = {field.attribute: field.get_value(instance) for field in self._writable_fields(row)}

    def save_instance(self, instance, is_create, row, **kwargs):
        """Hand what the row changes to :meth:`write` (the service); its refusal becomes the row's errors."""
        changes = {}
        for field in self._writable_fields(row):
            value = field.get_value(instance)
            if is_create or value != self._original.get(field.attribute):
                changes[self._field_name(field.attribute)] = json_value(value)
        try:
            written = self.write(instance=instance, changes=changes, new=is_create)
        except drf_exceptions.ValidationError as error:
            raise ValidationError(field_errors(error.detail)) from error
        if written is not None and written is not instance:
            # The preview shows the row as the service left it (a clip given a score is SCORED).
            copy_row(written, instance)

    def write(self, *, instance, changes: dict, new: bool):
        """Write ``changes`` (field name -> JSON value, as the API takes them) through the app's service.

        ``instance`` is the row as stored (with the file's values set on it); ``new`` when the row creates one.
        Returns the row written. Raise DRF's or Django's ``ValidationError`` to refuse the row.
        """
        raise NotImplementedError

    def serializer_context(self) -> dict:
        """The API serializers' context: the staff member is the caller (their role scopes related rows)."""
        return {"request": self.request or SimpleNamespace(user=None)}

    def _writable_fields(self, row):
        return [
            field
            for field in self.get_import_fields()
            if field.attribute and not field.readonly and field.column_name in row and field.attribute != "id"
        ]

    def _nullable(self, attribute: str) -> bool:
        try:
            return self._meta.model._meta.get_field(attribute).null
        except FieldDoesNotExist:
            return False

    def _field_name(self, attribute: str) -> str:
        try:
            return self._meta.model._meta.get_field(attribute).name
        except FieldDoesNotExist:
            return attribute


def expected(widget) -> str:
    """What a column's cells must hold, for an error message."""
    if isinstance(widget, UUIDWidget):
        return "id (a UUID)"
    if isinstance(widget, widgets.DateTimeWidget):
        return "date and time (YYYY-MM-DD HH:MM:SS)"
    if isinstance(widget, widgets.DateWidget):
        return "date (YYYY-MM-DD)"
    if isinstance(widget, widgets.BooleanWidget):
        return "yes/no value (TRUE or FALSE)"
    if isinstance(widget, widgets.IntegerWidget):
        return "whole number"
    if isinstance(widget, widgets.NumberWidget):
        return "number"
    return "value"


def json_value(value):
    """A parsed cell as the API's JSON takes it: decimals and dates as strings, numbers and text as they are."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def field_errors(detail) -> dict[str, list[str]]:
    """DRF's error detail as Django's ``{field: [messages]}`` (``non_field_errors`` as Django's ``__all__``)."""
    if not isinstance(detail, dict):
        return {NON_FIELD: messages(detail)}
    errors: dict[str, list[str]] = {}
    for key, value in detail.items():
        errors.setdefault(NON_FIELD if key == "non_field_errors" else key, []).extend(messages(value))
    return errors


def messages(detail) -> list[str]:
    """Every message of a DRF error detail, however nested."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in messages(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in messages(item)]
    return [str(detail)]


class UUIDWidget(widgets.Widget):
    """An id cell: a UUID, or nothing (an empty cell)."""

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        return uuid.UUID(str(value).strip())

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)
