"""The base classes of every model admin of the console.

- :class:`BaseAdmin`: an estimated-count paginator (no full ``COUNT(*)`` on big tables), no facet
  counts, JSON fields edited as pretty-printed validated JSON, index-friendly search (ids, short ids,
  exact values), foreign keys whose choices include soft-deleted rows, read-only timestamps, a date
  hierarchy that never scans the table, changes that write only the fields the form changed, and a
  "History" page of the row's changes, field by field, when the model is tracked (``history``).
- :class:`SoftDeleteAdmin`: sees soft-deleted rows (behind the "deleted" filter, hidden by default),
  shows them as deleted, and replaces Django's bulk delete with soft delete and restore actions;
  hard delete stays with superusers.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal
from django.views.decorators.http import require_POST

from gateway.admin.actions import limited_rows
from gateway.admin.api_rules import ApiRulesFormMixin, api_validators
from gateway.admin.filters import DeletedFilter
from gateway.admin.formatting import deleted_marker, plural, short_pk
from gateway.admin.history import HistoryAdminMixin
from gateway.admin.json_fields import PrettyJSONField, json_shape
from gateway.admin.links import change_url
from gateway.admin.search import is_autocomplete, search_field_q, uuid_search_q
from gateway.models import SoftDeleteModel
from gateway.paginator import EstimatedCountPaginator
from gateway.services import model_update


def is_soft(model) -> bool:
    return issubclass(model, SoftDeleteModel)


class DeferringChangeList(ChangeList):
    """Leaves the model admin's ``list_defer`` columns (big JSON, vectors, text) out of the list query."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        defer = getattr(self.model_admin, "list_defer", ())
        return queryset.defer(*defer) if defer else queryset


class BaseAdmin(HistoryAdminMixin, admin.ModelAdmin):
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
    # What the header's global search finds of this model besides its id (``gateway.admin.global_search``),
    # written as ``search_fields`` are; only fields an index serves (a unique or b-tree index for ``=field``,
    # a trigram index on ``UPPER(field)`` for a substring), as the search runs over every table at once.
    global_search_fields: tuple[str, ...] = ()
    search_help_text = "An id (full or its first 8 characters), or text."
    # Read-only once the row exists (a status that moves only through a service's action, a row's owner).
    change_readonly_fields: tuple[str, ...] = ()
    # Computed from the row, so left out of the add form's fieldsets.
    change_only_fields: tuple[str, ...] = ()
    # The app's API serializer of the model: its fields' limits and its ``ranges`` checked on the forms, in its
    # words (``gateway.admin.api_rules``).
    api_serializer = None

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        fields = tuple(dict.fromkeys((*fields, *self.record_fields)))
        return (*fields, *self.change_readonly_fields) if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None or not self.change_only_fields:
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": tuple(field for field in options["fields"] if field not in self.change_only_fields),
                },
            )
            for name, options in fieldsets
        ]

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

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if self.api_serializer is None:
            return form
        return type(form.__name__, (ApiRulesFormMixin, form), {"api_serializer": self.api_serializer})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", PrettyJSONField)
            kwargs.setdefault("expected_type", json_shape(db_field))
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and self.api_serializer is not None:
            formfield.validators = [*formfield.validators, *api_validators(self.api_serializer, db_field.name)]
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
        anything else a substring; a field across a foreign key is resolved to the related ids first
        (see :func:`search_field_q`).
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        by_id = uuid_search_q(self.model, term, self.uuid_search_fields)
        if by_id is not None:
            return queryset.filter(by_id), False
        fields = self.get_search_fields(request)
        exact = [field for field in fields if field.startswith("=")]
        fuzzy = [field for field in fields if not field.startswith("=")]
        query = Q()
        for field in exact:
            query |= search_field_q(self.model, field, term)
        if fuzzy:
            words = Q()
            for bit in smart_split(term):
                if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                    bit = unescape_string_literal(bit)
                words &= Q.create([search_field_q(self.model, field, bit) for field in fuzzy], connector=Q.OR)
            query |= words
        query |= self.get_extra_search_q(term)
        if not query:
            return queryset, False
        return queryset.filter(query), False

    def get_extra_search_q(self, term: str) -> Q:
        """More conditions a term may match (OR-ed with the search fields); e.g. full-text search."""
        return Q()

    def get_global_search_q(self, term: str) -> Q | None:
        """What the header's global search matches in this model for ``term``; None when it cannot match.

        An id (full or short) matches the primary key; any other term the ``global_search_fields``, each
        matched against the whole term (see :func:`search_field_q`).
        """
        by_id = uuid_search_q(self.model, term, ("pk",))
        if by_id is not None:
            return by_id
        if not self.global_search_fields:
            return None
        return Q.create(
            [search_field_q(self.model, field, term) for field in self.global_search_fields], connector=Q.OR
        )

    def get_global_search_queryset(self, request):
        """The rows the global search may show: the changelist's rows (its scoping), unordered.

        Without an order the planner reads the few hits straight off the search's index and stops at the limit,
        instead of walking a date index past every row that does not match.
        """
        queryset = self.get_queryset(request).order_by()
        if self.list_select_related and not isinstance(self.list_select_related, bool):
            queryset = queryset.select_related(*self.list_select_related)
        return queryset.defer(*self.list_defer) if self.list_defer else queryset

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
        # The "deleted" column only where the "deleted" filter lets deleted rows in: elsewhere it is blank.
        columns = super().get_list_display(request)
        if request.GET.get(DeletedFilter.parameter_name) in ("yes", "all"):
            return (*columns, "deleted_marker")
        return columns

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
