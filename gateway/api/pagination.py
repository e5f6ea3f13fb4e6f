"""Page-number pagination: ``page`` and ``page_size`` (at most 100)."""

import datetime
import math
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, Page
from django.utils.dateparse import parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from gateway.paginator import EstimatedCountPaginator

MAX_PAGE_SIZE = 100
# PostgreSQL's OFFSET is a bigint: a page starting past it is past the end of any table.
MAX_OFFSET = 2**63 - 1
# Python's int() also reads "1_0", "+1", " 1" and other scripts' digits ("١"); a page number is ASCII digits.
ASCII_DIGITS = re.compile(r"[0-9]+")
INVALID_CURSOR = "Invalid cursor: follow the next or previous link of a page, or give it empty for the first page."


def _positive_int(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = int(raw) if ASCII_DIGITS.fullmatch(raw) else 0
    if value < 1:
        raise ValidationError({name: ["A positive integer is required."]})
    return value


def _valid_position(position: str | None) -> bool:
    """Whether a cursor's position can reach the database: no NUL, and a date-time within years 1-9999 in UTC.

    A date-time outside that range keeps its offset when sent (gateway/db/postgresql), and PostgreSQL refuses
    offsets beyond ±15:59; whether any other text suits the ordering field is the field's to say.
    """
    if position is None:
        return True
    if "\x00" in position:
        return False
    try:
        moment = parse_datetime(position)
        if moment is not None and moment.utcoffset() is not None:
            moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        return False
    return True


def with_unique_ordering(queryset):
    """``queryset`` ordered as asked and then by primary key, so that pages never overlap or skip rows.

    Rows that tie on the requested ordering (the same ``created_at`` after a bulk load, the same score)
    would otherwise come back in whatever order the database picks, which may differ between pages.
    """
    if not hasattr(queryset, "query"):
        return queryset
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if any(isinstance(field, str) and field.lstrip("-") in ("pk", "id") for field in ordering):
        return queryset
    return queryset.order_by(*ordering, "pk")


class EstimatedPage(Page):
    """A page of a list whose count is an estimate: whether a next one exists is known from its own rows."""

    def __init__(self, object_list, number, paginator, *, has_more: bool):
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self):
        return self.has_more


class ApiPaginator(EstimatedCountPaginator):
    """The staff console's paginator (a big table is never counted in full), for the API's page numbers.

    When the count is an estimate, it bounds nothing: a page is the rows at its offset, read with one row
    more to know whether a next page exists, and only an empty page past the first is missing (404).
    """

    def validate_number(self, number):
        if not self.count_is_estimate:
            return super().validate_number(number)
        number = int(number)  # the pagination hands over positive integers only (``_positive_int``)
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if (number - 1) * self.per_page > MAX_OFFSET:
            raise EmptyPage("That page contains no results")
        return number

    def page(self, number):
        self.count  # noqa: B018 -- counting decides whether the count is an estimate
        if not self.count_is_estimate:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return EstimatedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)


class PageNumberPagination(pagination.PageNumberPagination):
    """``count``/``next``/``previous``/``results``.

    ``page_size`` defaults to the ``PAGE_SIZE`` setting and is capped at 100; a ``page`` or
    ``page_size`` that is not a positive integer is a 400, a page past the last one a 404. A list of
    10,000 rows or more is not counted in full (``ApiPaginator``, as the staff console's lists): ``count``
    is then the planner's estimate, and ``count_is_estimate`` says so.
    """

    django_paginator_class = ApiPaginator
    page_size_query_param = "page_size"
    page_size_query_description = f"Number of results per page (default from settings, at most {MAX_PAGE_SIZE})."
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        return super().paginate_queryset(with_unique_ordering(queryset), request, view)

    def get_page_size(self, request):
        page_size = _positive_int(request, self.page_size_query_param)
        if page_size is None:
            return self.page_size
        return min(page_size, self.max_page_size)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            num_pages = paginator.num_pages  # counting first tells whether the count is an estimate
            if paginator.count_is_estimate:  # whose last page may be empty, or not the last
                return max(math.ceil(paginator.object_list.count() / paginator.per_page), 1)
            return num_pages
        return _positive_int(request, self.page_query_param) or 1

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_is_estimate": self.page.paginator.count_is_estimate,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        properties = paginated["properties"]
        paginated["properties"] = {
            "count": properties.pop("count"),
            "count_is_estimate": {
                "type": "boolean",
                "description": "Whether `count` is the planner's estimate (a list of 10,000 rows or more) or exact.",
            },
            **properties,
        }
        paginated["required"] = [*paginated["required"], "count_is_estimate"]
        return paginated

    def get_schema_operation_parameters(self, view):
        # Say what get_page_size / get_page_number accept: positive integers (anything else is a 400).
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in (self.page_query_param, self.page_size_query_param):
                parameter["schema"]["minimum"] = 1
        return parameters


class _CursorPagination(pagination.CursorPagination):
    """DRF's cursor pages (``next``/``previous``/``results``, no count), with our ``page_size`` rules."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def __init__(self, ordering: tuple[str, ...], page_size: int):
        self.ordering = ordering
        self.page_size = page_size

    def get_page_size(self, request):
        page_size = _positive_int(request, self.page_size_query_param)
        return self.page_size if page_size is None else min(page_size, self.max_page_size)

    def get_ordering(self, request, queryset, view):
        return self.ordering

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except DjangoValidationError as error:
            # A position that does not parse as the ordering field (a hand-edited cursor).
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from error

    def decode_cursor(self, request):
        """DRF's cursor, but a 400 naming ``cursor`` for one that does not decode (DRF answers a 404)."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None
        if cursor is not None and not _valid_position(cursor.position):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
        return cursor


class PageNumberOrCursorPagination(PageNumberPagination):
    """Page numbers (with ``count``) by default; ``?cursor=`` switches to cursor pages, for big append-only lists.

    A cursor page never counts the rows: its cost does not grow with the table. Start with an empty
    ``cursor`` and follow ``next``/``previous``. The view names the fields a cursor may order by in
    ``cursor_fields`` (the first, descending, is the default); ``ordering`` may pick another of them
    (ascending or descending); any other ordering with a cursor is a 400. Rows are ordered by that field
    and then by id, which an index on the field serves.
    """

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor_paginator = None
        if self.cursor_query_param not in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        _positive_int(request, self.page_query_param)  # unused with a cursor, but a malformed page is still a 400
        self.cursor_paginator = _CursorPagination(self.cursor_ordering(request, view), self.page_size)
        return self.cursor_paginator.paginate_queryset(queryset, request, view)

    def cursor_ordering(self, request, view) -> tuple[str, ...]:
        fields = getattr(view, "cursor_fields", ("created_at",))
        allowed = {f"{sign}{field}": (f"{sign}{field}", f"{sign}id") for field in fields for sign in ("-", "")}
        requested = request.query_params.get("ordering", "").strip()
        if not requested:
            return allowed[f"-{fields[0]}"]
        if requested not in allowed:
            choices = ", ".join(sorted(allowed))
            raise ValidationError({"ordering": [f"With a cursor, ordering must be one of: {choices}."]})
        return allowed[requested]

    def get_paginated_response(self, data):
        if self.cursor_paginator is not None:
            return self.cursor_paginator.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        # A cursor page has no ``count``.
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = [name for name in paginated["required"] if name not in ("count", "count_is_estimate")]
        return paginated

    def get_schema_operation_parameters(self, view):
        fields = getattr(view, "cursor_fields", ("created_at",))
        orderings = ", ".join(f"`{sign}{field}`" for field in fields for sign in ("-", ""))
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Cursor pages instead of page numbers: give it empty for the first page, then follow "
                    "`next`/`previous` (any other cursor is a 400). The answer has no `count` (the rows are "
                    f"never counted). With a cursor, `ordering` is one of {orderings} (default `-{fields[0]}`; "
                    "a 400 otherwise)."
                ),
                "schema": {"type": "string"},
            },
        ]
