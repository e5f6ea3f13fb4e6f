"""The API's filter backend (a module of its own: DRF's generic views load it from the settings at import time)."""

from django.core.validators import ProhibitNullCharactersValidator
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

NUL_MESSAGE = ProhibitNullCharactersValidator.message


def reject_nul_characters(query_params) -> None:
    """A 400 naming the first query parameter whose value holds a NUL character.

    PostgreSQL stores NUL in no text column, so such a value can only fail (with the driver's error) once it
    reaches a query. Checked here, every parameter at once, before any filter, search or view reads one.
    """
    for name, values in query_params.lists():
        if any("\x00" in value for value in values):
            raise ValidationError({name: [NUL_MESSAGE]})


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the work when there is nothing to filter.

    Every view of the API that filters its rows (lists, details, writes: ``get_object`` filters too) comes
    here first, so this is where query strings holding a NUL character are refused
    (:func:`reject_nul_characters`), whatever reads them afterwards (``search``, ``ordering``, a view's
    own ``q``).

    Building a FilterSet validates a form of every filter (about a millisecond for twenty filters), and
    most requests name none of them (a detail, a plain page). When no query parameter names a filter of the
    view's FilterSet (or starts with one's name: range filters take ``<name>_min``-style parameters), the
    queryset is returned as it is, which is what the FilterSet would return for an empty query.
    """

    def filter_queryset(self, request, queryset, view):
        reject_nul_characters(request.query_params)
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            names = tuple(filterset_class.base_filters)
            if not any(parameter.startswith(names) for parameter in request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)
