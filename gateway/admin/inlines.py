"""Read-only inlines: a parent's latest related rows, with a link to all of them."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from gateway.admin.base import is_soft
from gateway.admin.formatting import deleted_marker, short_pk
from gateway.admin.links import admin_link, changelist_url


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
            rows = list(queryset if queryset.query.is_sliced else queryset[: self.limit])
            for row in rows:
                # A row's title may name its parent (a clip is "<asset name> [80s–95s]"): the page's own object,
                # rather than a query per row.
                setattr(row, self.fk.name, self.instance)
            self._queryset = rows
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
