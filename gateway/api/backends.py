"""The API's filter backend (a module of its own: DRF's generic views load it from the settings at import time)."""

from django_filters.rest_framework import DjangoFilterBackend


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, minus the work when there is nothing to filter.

    Building a FilterSet validates a form of every filter (about a millisecond for twenty filters), and
    most requests name none of them (a detail, a plain page). When no query parameter names a filter of the
    view's FilterSet (or starts with one's name: range filters take ``<name>_min``-style parameters), the
    queryset is returned as it is, which is what the FilterSet would return for an empty query.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            names = tuple(filterset_class.base_filters)
            if not any(parameter.startswith(names) for parameter in request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)
