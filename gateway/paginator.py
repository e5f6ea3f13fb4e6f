"""A paginator that never counts a big table in full: the staff console's lists and the API's page numbers."""

import json

from django.core.paginator import Paginator
from django.db import connections, models
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a big table in full.

    Unfiltered: the planner's row estimate (``pg_class.reltuples``). Filtered: an exact count of at
    most ``COUNT_CAP`` + 1 rows, and past that the planner's estimate of the filtered query. Small
    tables (and tables never analysed) get an exact count. A model without a table of its own (unmanaged:
    a view, pghistory's events) is counted as a filtered one. ``count_is_estimate`` tells the template.
    """

    COUNT_CAP = 10_000

    count_is_estimate = False

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, models.QuerySet):
            return super().count
        connection = connections[queryset.db]
        if not queryset.query.where and queryset.model._meta.managed:  # a table of its own: it has statistics
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
