"""A paginator that never counts a big table in full: the staff console's lists and the API's page numbers."""

import json

from django.core.paginator import Paginator
from django.db import connections, models
from django.utils.functional import cached_property


def counted(queryset: models.QuerySet, limit: int | None = None) -> models.QuerySet:
    """What is counted of ``queryset``'s rows: their primary keys, unordered, at most ``limit`` of them."""
    keys = queryset.order_by().values("pk")
    return keys if limit is None else keys[:limit]


class CountedRows:
    """The rows of a list as ``EstimatedCountPaginator`` counts them: a queryset's, counted by Django.

    A subclass may count another way (the API's compiled list pages: ``gateway.api.viewsets.ListRows``); it
    gives ``queryset`` for the planner's estimates and ``filtered`` for the choice between them.
    """

    def __init__(self, queryset: models.QuerySet):
        self.queryset = queryset

    @property
    def filtered(self) -> bool:
        """Whether the rows are a subset of their table; a model without a table of its own (unmanaged: a view,
        pghistory's events) counts as one, as it has no statistics of its own."""
        return bool(self.queryset.query.where) or not self.queryset.model._meta.managed

    def count(self, limit: int | None = None) -> int:
        """The number of rows, or of at most ``limit`` of them."""
        return counted(self.queryset, limit).count()

    def table_estimate(self) -> int:
        """The planner's estimate of the table's rows (``pg_class.reltuples``): -1 for a table never analysed."""
        with connections[self.queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [self.queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        return row[0] if row and row[0] is not None else -1

    def query_estimate(self) -> int:
        """The planner's estimate of the rows (``EXPLAIN``)."""
        sql, params = counted(self.queryset).query.sql_with_params()
        with connections[self.queryset.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a big table in full.

    Unfiltered: the planner's row estimate (``pg_class.reltuples``). Filtered: an exact count of at
    most ``COUNT_CAP`` + 1 rows, and past that the planner's estimate of the filtered query. Small
    tables (and tables never analysed) get an exact count. A model without a table of its own (unmanaged:
    a view, pghistory's events) is counted as a filtered one. ``count_is_estimate`` tells the template.
    The rows are a queryset or ``CountedRows``.
    """

    COUNT_CAP = 10_000

    count_is_estimate = False

    @cached_property
    def count(self):
        rows = self.object_list
        if isinstance(rows, models.QuerySet):
            rows = CountedRows(rows)
        elif not isinstance(rows, CountedRows):
            return super().count
        if not rows.filtered:  # a table of its own: it has statistics
            estimate = rows.table_estimate()
            if estimate >= self.COUNT_CAP:
                self.count_is_estimate = True
                return estimate
            return rows.count()
        capped = rows.count(limit=self.COUNT_CAP + 1)
        if capped <= self.COUNT_CAP:
            return capped
        self.count_is_estimate = True
        return max(rows.query_estimate(), capped)
