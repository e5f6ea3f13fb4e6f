"""Django's postgresql backend with a connection pool that recovers at once when the server restarts.

Django (5.2) builds the psycopg pool itself and, with ``CONN_HEALTH_CHECKS``, checks each connection
it hands out with ``ConnectionPool.check_connection``; a ``check`` in ``OPTIONS["pool"]`` is refused
(Django passes its own). After a server restart every idle pooled connection is broken, and the
pool's check loop sleeps with a growing back-off (1 s, 2 s, 4 s, ...) between stale connections, so
a request could wait longer than ``DB_POOL_TIMEOUT`` and fail once although the database is back.
Here the first failed check tests every idle connection at once, so the retry gets a fresh one.

Aware datetimes are also sent in UTC: PostgreSQL refuses UTC offsets beyond ±15:59, which ISO 8601 (and so
a date-time in an API query string) allows up to ±23:59.

Timestamps are read by :class:`TimestamptzLoader`: Django's own loader, parsing with the standard library's
C ``datetime.fromisoformat`` instead of psycopg's Python one.
"""

import contextlib
import datetime
import functools

from django.db.backends.postgresql import operations
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django_prometheus.db.backends.postgresql import base
from psycopg import adapt
from psycopg_pool import ConnectionPool


def check_connection(conn) -> None:
    """The pool's ``check``: psycopg's own check, and on failure a check of the whole pool."""
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        # getconn() sets _pool on the connection before checking it.
        pool = getattr(conn, "_pool", None)
        if pool is not None:
            pool.check()
        raise


class TimestamptzLoader(BaseTzLoader):
    """Django's timestamptz loader (the value relabelled with the connection's time zone), parsed in C.

    Django registers a subclass of psycopg's Python loader, which parses every value with a regular
    expression: about a fifth of the time of reading 100 clips (two timestamps each). PostgreSQL writes a
    timestamptz in the session's time zone (Django sets it) as ISO 8601 when ``DateStyle`` is ISO, its
    default, which ``fromisoformat`` reads; anything else it refuses (another ``DateStyle``, ``infinity``, a
    year past 9999 or BC) goes to the parent, which reads or refuses it exactly as before. psycopg's C loader
    would do too, but Django's cursor asks the loader for its ``timezone`` and the C class cannot be subclassed.
    """

    def load(self, data):
        try:
            value = datetime.datetime.fromisoformat(str(data, "ascii"))
        except ValueError:
            return super().load(data)
        # In UTC (the sessions' zone) fromisoformat gives the very tzinfo Django sets: nothing to replace.
        return value if value.tzinfo is self.timezone else value.replace(tzinfo=self.timezone)


@functools.cache
def adapters_with_our_loader(template: adapt.AdaptersMap, timezone) -> adapt.AdaptersMap:
    """Django's adapters for ``timezone`` (``template``, itself built once per zone), with our timestamptz loader."""
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", type("TimestamptzLoader", (TimestamptzLoader,), {"timezone": timezone}))
    return adapters


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_datetimefield_value(self, value):
        # Before year 1 or after 9999 in UTC (OverflowError) the value stays: PostgreSQL refuses it (a 400 in the API).
        if isinstance(value, datetime.datetime) and value.utcoffset():
            with contextlib.suppress(OverflowError):
                value = value.astimezone(datetime.UTC)
        return super().adapt_datetimefield_value(value)


class DatabaseWrapper(base.DatabaseWrapper):
    """django-prometheus's postgresql backend (queries, their time and errors counted), with the pool fix."""

    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = adapters_with_our_loader(params["context"], self.timezone)
        return params

    @property
    def pool(self):
        pool = super().pool
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_connection
        return pool
