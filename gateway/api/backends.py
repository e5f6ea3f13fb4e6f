"""The API's filter backend (a module of its own: DRF's generic views load it from the settings at import time)."""

from django.core.validators import ProhibitNullCharactersValidator
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError

from gateway.api.serializers import REPEATED_PARAMETER

NUL_MESSAGE = ProhibitNullCharactersValidator.message


def reject_nul_characters(query_params) -> None:
    """A 400 naming the first query parameter whose value holds a NUL character.

    PostgreSQL stores NUL in no text column, so such a value can only fail (with the driver's error) once it
    reaches a query. Checked here, every parameter at once, before any filter, search or view reads one.
    """
    for name, values in query_params.lists():
        if any("\x00" in value for value in values):
            raise ValidationError({name: [NUL_MESSAGE]})


def multi_valued_parameters(filterset_class) -> frozenset[str]:
    """The parameters of ``filterset_class`` that take several values (``gateway.api.filters.MultiValueFilter``).

    Told by the filters' ``multi_valued`` mark: this module is loaded while DRF's views are, before
    ``gateway.api.filters`` can be imported.
    """
    if filterset_class is None:
        return frozenset()
    declared = filterset_class.base_filters.items()
    return frozenset(name for name, item in declared if getattr(item, "multi_valued", False))


def reject_repeated_parameters(query_params, multi_valued=frozenset()) -> None:
    """A 400 naming every query parameter given more than once that is not one of ``multi_valued``.

    Django keeps every value of a repeated parameter, but a reader of one value gets the last: ``?page=1&page=2``
    would silently be page 2, ``?status=READY&status=FAILED`` the FAILED rows only.
    """
    repeated = {name: [REPEATED_PARAMETER] for name, values in query_params.lists() if len(values) > 1}
    for name in multi_valued:
        repeated.pop(name, None)
    if repeated:
        raise ValidationError(repeated)


class SearchFilter(filters.SearchFilter):
    """DRF's search, advertised in the schema only on views that search something (have ``search_fields``).

    The parameter's description names the fields searched.
    """

    def get_schema_operation_parameters(self, view):
        fields = getattr(view, "search_fields", None)
        if not fields:
            return []
        parameters = super().get_schema_operation_parameters(view)
        searched = ", ".join(f"`{field.lstrip('^=@$').replace('__', '.')}`" for field in fields)
        for parameter in parameters:
            parameter["description"] = (
                f"Words to find (case-insensitive, each word in one of the fields): {searched}. "
                "Words are separated by spaces or commas."
            )
        return parameters


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the work when there is nothing to filter.

    Every view of the API that filters its rows (lists, details, writes: ``get_object`` filters too) comes
    here first, so this is where query strings holding a NUL character are refused
    (:func:`reject_nul_characters`), and parameters given twice that take one value
    (:func:`reject_repeated_parameters`: all but the FilterSet's multi-valued filters), whatever reads them
    afterwards (``search``, ``page``, ``hard``, a view's own ``q``).

    Building a FilterSet validates a form of every filter (about a millisecond for twenty filters), and
    most requests name none of them (a detail, a plain page) or a few. Only the filters a query parameter
    names (or starts with the name of: a range filter may take ``<name>_min``-style parameters) are validated
    and applied, in the FilterSet's order: a filter given no value filters nothing, and none of ours is
    required or checked against another, so the rows and the errors are what the whole FilterSet gives. When
    the query names none, the queryset is returned as it is.
    """

    def filter_queryset(self, request, queryset, view):
        reject_nul_characters(request.query_params)
        filterset_class = self.get_filterset_class(view, queryset)
        reject_repeated_parameters(request.query_params, multi_valued_parameters(filterset_class))
        if filterset_class is None:
            return queryset
        named = named_filters(filterset_class, request.query_params)
        if not named:
            return queryset
        filterset = self.get_filterset(request, queryset, view)
        filterset.filters = {name: filterset.filters[name] for name in named}  # before its form is built
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        return filterset.qs


def named_filters(filterset_class, query_params) -> list[str]:
    """The names of ``filterset_class``'s filters that a query parameter names or starts with, in its order."""
    return [
        name for name in filterset_class.base_filters if any(parameter.startswith(name) for parameter in query_params)
    ]
