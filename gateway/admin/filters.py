"""List filters that never load a table: text boxes (owner, parent id, exact value) and "deleted"."""

import uuid

from django.contrib import admin, messages
from django.db.models import Q


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
        {
            "title": title,
            "parameter_name": "owner",
            "placeholder": "email or user id",
            "lookup": lookup,
            # Read by ``gateway.admin.owners``: the user's page links to each list that has this filter.
            "user_path": user_path,
        },
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
