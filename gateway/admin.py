"""Shared plumbing of the staff console (the Django admin).

Every app's ``admin.py`` builds on the classes here:

- :class:`BaseAdmin`: an estimated-count paginator (no full ``COUNT(*)`` on big tables), no facet
  counts, JSON fields edited as pretty-printed validated JSON, index-friendly search (ids, short ids,
  exact values), foreign keys whose choices include soft-deleted rows, read-only timestamps and a
  date hierarchy that never scans the table.
- :class:`SoftDeleteAdmin`: sees soft-deleted rows (behind the "deleted" filter, hidden by default),
  shows them as deleted, and replaces Django's bulk delete with soft delete and restore actions;
  hard delete stays with superusers.
- List filters that never load a table: :class:`DeletedFilter`, and text inputs for owners,
  parent ids and free-text columns (:func:`owner_filter`, :func:`id_filter`, :func:`value_filter`).
- :class:`ReadOnlyLatestInline`: the latest rows of a relation, read-only, with a link to all of them.
- :func:`run_form_action`: an action with an intermediate form (pick a status, a variant...) that
  calls a service for each selected row and reports each refusal as a message.
"""

import json
import re
import uuid
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Q
from django.forms.fields import InvalidJSONInput
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import smart_split, unescape_string_literal
from django.views.decorators.http import require_POST

from gateway.models import SoftDeleteModel
from gateway.services import model_update

admin.site.site_header = "GeminiVideo staff console"
admin.site.site_title = "GeminiVideo staff console"
admin.site.index_title = "Data"

# Actions that call a service row by row refuse larger selections: a "select all" over millions of
# rows would hold one request open for minutes.
ACTION_ROW_LIMIT = 1000
SHORT_ID_LENGTH = 8
SHORT_ID = re.compile(r"^[0-9a-fA-F]{8}$")
# How many full ids a short id may stand for, per table searched (8 hex digits: 1 in 4 billion ids).
SHORT_ID_MATCHES = 100


def short_pk(pk) -> str:
    return str(pk)[:SHORT_ID_LENGTH]


def change_url(model, pk) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(pk)])


def changelist_url(model, **params) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def admin_link(model, pk, label=None):
    """A link to the change page of ``model`` row ``pk`` (labelled with its short id by default); blank for None."""
    if pk is None:
        return "–"
    return format_html(
        '<a href="{}" title="{}">{}</a>', change_url(model, pk), str(pk), label if label is not None else short_pk(pk)
    )


def fixed(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def percent(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def transitions_help(transitions: dict) -> str:
    """The allowed status changes (a service's transition table), one line per status, as help text."""
    return format_html(
        "Allowed changes:<br>{}",
        format_html_join(
            mark_safe("<br>"),
            "{} → {}",
            (
                (current, ", ".join(sorted(targets)) if targets else "nothing (final)")
                for current, targets in transitions.items()
            ),
        ),
    )


def deleted_marker(obj):
    """A red "deleted <when>" for a soft-deleted row, blank otherwise."""
    if obj.deleted_at is None:
        return ""
    return format_html(
        '<span class="gv-deleted" title="{}">deleted {}</span>',
        obj.deleted_at.isoformat(),
        date_format(timezone.localtime(obj.deleted_at), "SHORT_DATETIME_FORMAT"),
    )


def is_soft(model) -> bool:
    return issubclass(model, SoftDeleteModel)


def is_autocomplete(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"


def is_id_term(term: str) -> bool:
    """Whether a search term is an id: a full UUID or a short id (8 hex digits)."""
    try:
        uuid.UUID(term)
    except ValueError:
        return bool(SHORT_ID.match(term))
    return True


def uuid_search_q(model, term: str, fields) -> Q | None:
    """A query on ``fields`` of ``model`` for a full UUID or a short id (its first 8 hex digits), else None.

    ``fields`` are ``"pk"`` and foreign keys (``"asset_id"``). A short id is first resolved to the
    full ids it starts, with a range scan of the primary key of each table it may name; the list is
    then matched exactly. (Filtering on the UUID range directly would leave the planner guessing: it
    cannot estimate ranges of UUIDs, and walks the date index of a big table instead.)
    """
    if not fields:
        return None
    try:
        value = uuid.UUID(term)
    except ValueError:
        if not SHORT_ID.match(term):
            return None
        low, high = uuid.UUID(term.lower() + "0" * 24), uuid.UUID(term.lower() + "f" * 24)
        query = Q()
        for field in fields:
            table = model if field == "pk" else model._meta.get_field(field).related_model
            ids = table._base_manager.filter(pk__gte=low, pk__lte=high).order_by().values_list("pk", flat=True)
            query |= Q(**{f"{field}__in": list(ids[:SHORT_ID_MATCHES])})
        return query
    query = Q()
    for field in fields:
        query |= Q(**{field: value})
    return query


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a big table in full.

    Unfiltered: the planner's row estimate (``pg_class.reltuples``). Filtered: an exact count of at
    most ``COUNT_CAP`` + 1 rows, and past that the planner's estimate of the filtered query. Small
    tables (and tables never analysed) get an exact count. ``count_is_estimate`` tells the template.
    """

    COUNT_CAP = 10_000

    count_is_estimate = False

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, models.QuerySet):
            return super().count
        connection = connections[queryset.db]
        if not queryset.query.where:
            estimate = self._table_estimate(connection, queryset.model._meta.db_table)
            if estimate >= self.COUNT_CAP:
                self.count_is_estimate = True
                return estimate
            return queryset.order_by().values("pk").count()
        capped = queryset.order_by().values("pk")[: self.COUNT_CAP + 1].count()
        if capped <= self.COUNT_CAP:
            return capped
        self.count_is_estimate = True
        return max(self._query_estimate(connection, queryset), capped)

    @staticmethod
    def _table_estimate(connection, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
        return row[0] if row and row[0] is not None else -1

    @staticmethod
    def _query_estimate(connection, queryset) -> int:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


class JSONTextarea(AdminTextareaWidget):
    """A monospace box as tall as the JSON in it (within bounds)."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "vLargeTextField gv-json", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        lines = str(value or "").count("\n") + 2
        context["widget"]["attrs"]["rows"] = min(max(lines, 3), 24)
        return context


class PrettyJSONField(forms.JSONField):
    """JSON edited as indented text; malformed JSON or the wrong top-level type is a form error.

    ``expected_type`` (``dict`` or ``list``) is the shape the column holds; an empty box saves the
    empty value of that shape rather than a NULL the column would refuse.
    """

    widget = JSONTextarea
    type_names = {dict: "object", list: "array"}

    def __init__(self, *, expected_type=None, **kwargs):
        self.expected_type = expected_type
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)

    def clean(self, value):
        value = super().clean(value)
        if self.expected_type is None:
            return value
        if value is None:
            return self.expected_type()
        if not isinstance(value, self.expected_type):
            raise ValidationError(f"Must be a JSON {self.type_names[self.expected_type]}.", code="invalid_type")
        return value


def json_shape(db_field) -> type | None:
    """``dict`` or ``list`` when the column defaults to that shape (and so must hold it), else None."""
    return db_field.default if db_field.default in (dict, list) and not db_field.null else None


class InputFilter(admin.SimpleListFilter):
    """A list filter that is a text box: no query to build its choices, whatever the table size."""

    template = "admin/gateway/input_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        # SimpleListFilter shows only filters with choices; the box is the one "choice".
        return [("", "")]

    def choices(self, changelist):
        # Everything else on the page (filters, search, ordering) rides along; the page number does not.
        skip = (self.parameter_name, "p")
        kept = {key: values for key, values in changelist.filter_params.items() if key not in skip}
        yield {
            "query_parts": [(key, item) for key, values in kept.items() for item in values],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        lookup = self.lookup(value)
        if lookup is None:
            messages.warning(request, f"{self.title.capitalize()}: {value!r} is not valid, so nothing matches.")
            return queryset.none()
        return queryset.filter(lookup)

    def lookup(self, value: str) -> Q | None:
        raise NotImplementedError


def owner_filter(user_path: str = "user", title: str = "owner") -> type[InputFilter]:
    """A filter on the owning user, by email or id, through ``user_path`` (e.g. ``asset__user``)."""

    def lookup(self, value):
        try:
            return Q(**{f"{user_path}__pk": uuid.UUID(value)})
        except ValueError:
            if "@" not in value:
                return None
            # Emails are stored lower-cased, so an exact match uses the unique index.
            return Q(**{f"{user_path}__email": value.lower()})

    return type(
        "OwnerFilter",
        (InputFilter,),
        {"title": title, "parameter_name": "owner", "placeholder": "email or user id", "lookup": lookup},
    )


def id_filter(field: str, title: str, parameter_name: str | None = None) -> type[InputFilter]:
    """A filter on the foreign key ``field`` by the related row's id (the full UUID)."""

    def lookup(self, value):
        try:
            return Q(**{f"{field}__pk": uuid.UUID(value)})
        except ValueError:
            return None

    return type(
        f"{field.title().replace('_', '')}IdFilter",
        (InputFilter,),
        {"title": title, "parameter_name": parameter_name or field, "placeholder": f"{title} id", "lookup": lookup},
    )


def value_filter(field: str, title: str) -> type[InputFilter]:
    """A filter on the exact value of ``field``, for free-text columns too big to list distinct values of."""

    def lookup(self, value):
        return Q(**{field: value})

    return type(
        f"{field.title().replace('_', '')}ValueFilter",
        (InputFilter,),
        {"title": title, "parameter_name": field, "placeholder": f"exact {title}", "lookup": lookup},
    )


class DeletedFilter(admin.SimpleListFilter):
    """Soft-deleted rows are hidden unless asked for: "Not deleted" (default), "Deleted", "All"."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Not deleted"), ("yes", "Deleted"), ("all", "All")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)

    def choices(self, changelist):
        current = self.value() if self.value() in ("yes", "all") else "no"
        for lookup, title in self.lookup_choices:
            if lookup == "no":
                query_string = changelist.get_query_string(remove=[self.parameter_name])
            else:
                query_string = changelist.get_query_string({self.parameter_name: lookup})
            yield {"selected": current == lookup, "query_string": query_string, "display": title}


class DeferringChangeList(ChangeList):
    """Leaves the model admin's ``list_defer`` columns (big JSON, vectors, text) out of the list query."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        defer = getattr(self.model_admin, "list_defer", ())
        return queryset.defer(*defer) if defer else queryset


class BaseAdmin(admin.ModelAdmin):
    """The base of every model admin of the console; see the module docstring."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole list: never on these tables.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    change_list_template = "admin/gateway/change_list.html"
    record_fields = ("id", "created_at", "updated_at")
    # Searched for a full UUID or a short id (8 hex digits) instead of the text fields.
    uuid_search_fields: tuple[str, ...] = ("pk",)
    list_defer: tuple[str, ...] = ()
    search_help_text = "An id (full or its first 8 characters), or text."

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return tuple(dict.fromkeys((*fields, *self.record_fields)))

    def save_model(self, request, obj, form, change):
        """A change writes only the fields the form changed, through ``update_model``.

        Django's own ``save_model`` saves every column of the row as the form read it, undoing whatever
        changed meanwhile (a status set through the API, a counter, a soft delete).
        """
        if not change:
            return super().save_model(request, obj, form, change)
        fields = {}
        for name in form.changed_data:
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if field.concrete and not field.many_to_many:
                fields[field.name] = getattr(obj, field.name)
        return self.update_model(request, obj, fields)

    def update_model(self, request, obj, fields: dict) -> None:
        """Write a change form's changed ``fields`` under the row's lock; admins with a service override it."""
        model_update(instance=obj, fields=fields)

    def get_changelist(self, request, **kwargs):
        return DeferringChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", PrettyJSONField)
            kwargs.setdefault("expected_type", json_shape(db_field))
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            # The form carries the value the staff member saw, so ``changed_data`` names what they changed,
            # not what someone else changed since the page was loaded (see ``save_model``).
            formfield.show_hidden_initial = True
        return formfield

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A row may point at a soft-deleted parent (a deleted asset's clips): the form must accept it.
        related = db_field.remote_field.model
        if "queryset" not in kwargs and is_soft(related):
            kwargs["queryset"] = related.all_objects.all()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        """Search that indexes can serve.

        A full UUID or a short id matches ``uuid_search_fields`` only (see :func:`uuid_search_q`).
        Otherwise every word must match one of ``search_fields``: ``=field`` is an exact, case-sensitive
        match (so a plain b-tree index serves it, unlike Django's ``iexact``), ``^field`` a prefix,
        anything else a substring.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        by_id = uuid_search_q(self.model, term, self.uuid_search_fields)
        if by_id is not None:
            return queryset.filter(by_id), False
        fields = self.get_search_fields(request)
        exact = [field[1:] for field in fields if field.startswith("=")]
        fuzzy = [field for field in fields if not field.startswith("=")]
        query = Q()
        for field in exact:
            query |= Q(**{field: term})
        if fuzzy:
            words = Q()
            for bit in smart_split(term):
                if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                    bit = unescape_string_literal(bit)
                words &= Q.create([(self._text_lookup(field), bit) for field in fuzzy], connector=Q.OR)
            query |= words
        query |= self.get_extra_search_q(term)
        if not query:
            return queryset, False
        return queryset.filter(query), False

    @staticmethod
    def _text_lookup(field: str) -> str:
        if field.startswith("^"):
            return f"{field[1:]}__istartswith"
        return f"{field}__icontains"

    def get_extra_search_q(self, term: str) -> Q:
        """More conditions a term may match (OR-ed with the search fields); e.g. full-text search."""
        return Q()

    @admin.display(description="id", ordering="pk")
    def short_id(self, obj):
        return format_html('<code title="{}">{}</code>', str(obj.pk), short_pk(obj.pk))


class SoftDeleteAdmin(BaseAdmin):
    """An admin of a soft model: deleted rows are visible (filter "deleted") and can be restored.

    Bulk delete is soft; Django's hard ``delete_selected`` and the delete page stay, for superusers
    only. Soft delete and restore need the model's delete permission.
    """

    record_fields = ("id", "created_at", "updated_at", "deleted_at")
    actions = ("soft_delete_selected", "restore_selected")
    change_form_template = "admin/gateway/change_form.html"

    def get_queryset(self, request):
        queryset = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_list_filter(self, request):
        return (DeletedFilter, *super().get_list_filter(request))

    def get_list_display(self, request):
        return (*super().get_list_display(request), "deleted_marker")

    def get_search_results(self, request, queryset, search_term):
        if is_autocomplete(request):
            # Picking a parent for a row: offer live rows only.
            queryset = queryset.filter(deleted_at__isnull=True)
        return super().get_search_results(request, queryset, search_term)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_soft_delete_permission(self, request, obj=None):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            function, name, _ = actions["delete_selected"]
            actions["delete_selected"] = (
                function,
                name,
                "Permanently delete selected %(verbose_name_plural)s (hard delete)",
            )
        return actions

    @admin.display(description="deleted", ordering="deleted_at")
    def deleted_marker(self, obj):
        return deleted_marker(obj)

    @admin.action(description="Soft delete selected %(verbose_name_plural)s", permissions=["soft_delete"])
    def soft_delete_selected(self, request, queryset):
        rows = limited_rows(self, request, queryset.filter(deleted_at__isnull=True))
        if rows is None:
            return
        at = timezone.now()
        for obj in rows:
            obj.soft_delete(at=at)
            self.log_change(request, obj, "Soft-deleted.")
        self.message_user(request, f"Soft-deleted {len(rows)} {plural(self.model, len(rows))}.", messages.SUCCESS)

    @admin.action(description="Restore selected %(verbose_name_plural)s", permissions=["soft_delete"])
    def restore_selected(self, request, queryset):
        rows = limited_rows(self, request, queryset.filter(deleted_at__isnull=False))
        if rows is None:
            return
        for obj in rows:
            obj.restore()
            self.log_change(request, obj, "Restored.")
        if rows:
            self.message_user(request, f"Restored {len(rows)} {plural(self.model, len(rows))}.", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected rows is deleted; nothing to restore.", messages.WARNING)

    def get_urls(self):
        opts = self.opts
        prefix = f"{opts.app_label}_{opts.model_name}"
        return [
            path(
                "<path:object_id>/soft-delete/",
                self.admin_site.admin_view(self.soft_delete_view),
                name=f"{prefix}_soft_delete",
            ),
            path("<path:object_id>/restore/", self.admin_site.admin_view(self.restore_view), name=f"{prefix}_restore"),
            *super().get_urls(),
        ]

    def _object_for_soft_change(self, request, object_id):
        obj = get_object_or_404(self.get_queryset(request), pk=_pk_or_404(self.model, object_id))
        if not self.has_soft_delete_permission(request, obj):
            raise PermissionDenied
        return obj

    def soft_delete_view(self, request, object_id):
        return require_POST(self._soft_delete_view)(request, object_id)

    def _soft_delete_view(self, request, object_id):
        obj = self._object_for_soft_change(request, object_id)
        if obj.deleted_at is None:
            obj.soft_delete()
            self.log_change(request, obj, "Soft-deleted.")
            self.message_user(request, f"Soft-deleted {self.opts.verbose_name} “{obj}”.", messages.SUCCESS)
        return HttpResponseRedirect(change_url(self.model, obj.pk))

    def restore_view(self, request, object_id):
        return require_POST(self._restore_view)(request, object_id)

    def _restore_view(self, request, object_id):
        obj = self._object_for_soft_change(request, object_id)
        if obj.deleted_at is not None:
            obj.restore()
            self.log_change(request, obj, "Restored.")
            self.message_user(request, f"Restored {self.opts.verbose_name} “{obj}”.", messages.SUCCESS)
        return HttpResponseRedirect(change_url(self.model, obj.pk))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_soft_delete"] = obj is not None and self.has_soft_delete_permission(request, obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


def _pk_or_404(model, object_id):
    try:
        return model._meta.pk.to_python(object_id)
    except ValidationError as error:
        raise Http404 from error


def plural(model, count: int) -> str:
    opts = model._meta
    return opts.verbose_name if count == 1 else opts.verbose_name_plural


def limited_rows(model_admin, request, queryset, limit: int = ACTION_ROW_LIMIT) -> list | None:
    """The selected rows as a list, or None (with a message) when there are more than ``limit``."""
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        model_admin.message_user(
            request,
            f"Select at most {limit:,} {model_admin.opts.verbose_name_plural} for this action; "
            "narrow the list with a filter first.",
            messages.ERROR,
        )
        return None
    return rows


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(message for messages_ in error.message_dict.values() for message in messages_)
    return " ".join(error.messages)


def run_form_action(
    model_admin,
    request,
    queryset,
    *,
    action: str,
    form_class: type[forms.Form],
    title: str,
    apply: Callable,
    submit_label: str = "Apply",
    form_kwargs: dict | None = None,
    describe: Callable | None = None,
    single: bool = False,
):
    """An action with an intermediate form: show ``form_class``, then call ``apply(obj, cleaned_data)`` per row.

    ``apply`` calls the service; a ``ValidationError`` it raises becomes an error message naming the
    row, and the other rows still go ahead. ``single`` actions need exactly one selected row.
    ``describe(obj, result, cleaned_data)`` words a row's success message (``result``: what ``apply`` returned).
    """
    rows = limited_rows(model_admin, request, queryset)
    if rows is None:
        return None
    if single and len(rows) != 1:
        model_admin.message_user(request, f"Select exactly one {model_admin.opts.verbose_name}.", messages.WARNING)
        return None
    form_kwargs = form_kwargs or {}
    if "apply" in request.POST:
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            done = 0
            for obj in rows:
                try:
                    result = apply(obj, form.cleaned_data)
                except ValidationError as error:
                    model_admin.message_user(request, f"{obj}: {validation_message(error)}", messages.ERROR)
                    continue
                done += 1
                model_admin.log_change(request, obj, f"{title}.")
                if describe is not None:
                    model_admin.message_user(request, describe(obj, result, form.cleaned_data), messages.SUCCESS)
            if done and describe is None:
                model_admin.message_user(
                    request, f"{title}: done for {done} {plural(model_admin.model, done)}.", messages.SUCCESS
                )
            return None
    else:
        form = form_class(**form_kwargs)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "form": form,
        "rows": rows,
        "opts": model_admin.opts,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit_label": submit_label,
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/gateway/action_form.html", context)


class ReadOnlyLatestFormSet(BaseInlineFormSet):
    """The latest ``limit`` rows of a relation, for display only: never bound, never validated or saved.

    Read-only rows take no part in saving the parent, so rows added or soft-deleted meanwhile cannot
    turn into form errors on the parent's page.
    """

    limit = 20
    all_rows_url = ""

    def __init__(self, data=None, files=None, *args, **kwargs):
        super().__init__(None, None, *args, **kwargs)

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            queryset = super().get_queryset()
            self._queryset = queryset if queryset.query.is_sliced else queryset[: self.limit]
        return self._queryset

    def is_valid(self):
        return True

    def has_changed(self):
        return False

    def save(self, commit=True):
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class ReadOnlyLatestInline(admin.TabularInline):
    """A read-only table of a parent's latest related rows with a link to the filtered changelist.

    ``all_rows_param`` is the changelist filter that selects the parent's rows (e.g. ``asset``).
    Soft children are shown deleted or not, with a "deleted" column.
    """

    formset = ReadOnlyLatestFormSet
    template = "admin/gateway/edit_inline/latest_tabular.html"
    limit = 20
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    all_rows_param = ""
    list_select_related: tuple[str, ...] = ()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        queryset = self.model.all_objects.all() if is_soft(self.model) else self.model._default_manager.all()
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        return queryset

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.limit = self.limit
        if obj is not None and self.all_rows_param:
            params = {self.all_rows_param: str(obj.pk)}
            if is_soft(self.model):
                params["deleted"] = "all"
            formset.all_rows_url = changelist_url(self.model, **params)
            rows, parent = self.model._meta.verbose_name_plural, self.parent_model._meta.verbose_name
            formset.all_rows_label = f"All {rows} of this {parent} →"
        return formset

    @admin.display(description="id")
    def short_id(self, obj):
        return admin_link(self.model, obj.pk, format_html("<code>{}</code>", short_pk(obj.pk)))

    @admin.display(description="deleted")
    def deleted_marker(self, obj):
        return deleted_marker(obj)
