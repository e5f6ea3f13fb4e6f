"""Django's postgresql backend with a connection pool that recovers at once when the server restarts.

Django (5.2) builds the psycopg pool itself and, with ``CONN_HEALTH_CHECKS``, checks each connection
it hands out with ``ConnectionPool.check_connection``; a ``check`` in ``OPTIONS["pool"]`` is refused
(Django passes its own). After a server restart every idle pooled connection is broken, and the
pool's check loop sleeps with a growing back-off (1 s, 2 s, 4 s, ...) between stale connections, so
a request could wait longer than ``DB_POOL_TIMEOUT`` and fail once although the database is back.
Here the first failed check tests every idle connection at once, so the retry gets a fresh one.

That check is an empty query's round trip on every checkout, so it is kept only where a quiet socket proves
nothing (settings ``POOL_CHECK``: a replica, PgBouncer). A direct connection to the primary is checked quietly
(:func:`check_quietly`): a server that ends a session (a restart, ``pg_terminate_backend``, an idle timeout)
sends its error and closes the socket, which a ``poll()`` sees without a round trip. A session ended between that
look and the first statement is covered by sending the statement again, once, on a fresh connection
(:meth:`DatabaseWrapper.retry_if_stale`).

Aware datetimes are also sent in UTC: PostgreSQL refuses UTC offsets beyond ±15:59, which ISO 8601 (and so
a date-time in an API query string) allows up to ±23:59.

Timestamps are read by :class:`TimestamptzLoader`: Django's own loader, parsing with the standard library's
C ``datetime.fromisoformat`` instead of psycopg's Python one.
"""

import contextlib
import datetime
import functools
import select

from django.db import DatabaseError
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


def check_quietly(conn) -> None:
    """The pool's check of a direct connection: one the server has sent nothing since it went idle is handed out as
    it is, without a round trip; one it has (a session's end: its error, then the socket closed; or anything else)
    gets the full check."""
    sent = select.poll()
    sent.register(conn.fileno(), select.POLLIN)
    if sent.poll(0):
        check_connection(conn)


def is_a_plain_read(sql: str) -> bool:
    """Whether ``sql`` is one ``SELECT``: not a write, nor a ``SELECT`` in front of one (django-pghistory sends its
    context as ``SELECT set_config(...); UPDATE ...``). A ``;`` inside a literal makes a read look compound: such a
    read is just not sent again."""
    return sql.lstrip()[:6].upper() == "SELECT" and ";" not in sql


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
    """django-prometheus's postgresql backend (queries, their time and errors counted), with the pool's checks
    (``check_connection``, ``check_quietly``) and the retry of a quietly checked connection's first statement."""

    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = adapters_with_our_loader(params["context"], self.timezone)
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is not None and self.checks_quietly:
            # First, so a retry runs the request's own wrappers (timing, write notes) again too.
            self.execute_wrappers.insert(0, self.retry_if_stale)
        return connection

    def _close(self):
        self.forget_retry()
        return super()._close()

    def forget_retry(self) -> None:
        with contextlib.suppress(ValueError):
            self.execute_wrappers.remove(self.retry_if_stale)

    @property
    def checks_quietly(self) -> bool:
        return self.settings_dict.get("POOL_CHECK") == "quiet"

    def retry_if_stale(self, execute, sql, params, many, context):
        """Run the first statement of a connection the pool checked quietly; if the connection turns out broken,
        send the statement again, once, on a fresh one.

        The quiet check sees a session the server ended while the connection was idle, not one it ends right
        after the check (a restart's moment); the statement then never reached a live session, or reached one
        that died before answering. Sending it again is safe inside a transaction (nothing of it was committed:
        its first statement failed) and for a plain ``SELECT`` (a read), so only those are retried; any other
        statement in autocommit might have committed before the answer was lost, and its error goes up as before
        (for a write: outcome unknown). Only the first statement is covered: a connection that breaks later broke
        while in use, which no retry can mend.
        """
        self.forget_retry()
        try:
            return execute(sql, params, many, context)
        except DatabaseError:
            if not self.connection.broken or (self.autocommit and not is_a_plain_read(sql)):
                raise
        # The pool's quiet check sees whether what ended this session (a restart) ended its idle neighbours too;
        # super()'s, so the fresh connection gets no retry of its own (once). Should this fail, the broken
        # connection stays, and Django drops it as after any lost connection.
        with self.wrap_database_errors:
            fresh = super().get_new_connection(self.get_connection_params())
        broken, self.connection = self.connection, fresh
        broken._pool.putconn(broken)  # the pool discards it and opens another in the background
        fresh.autocommit = self.autocommit
        cursor = context["cursor"]
        cursor.cursor = self.create_cursor(getattr(cursor.cursor, "name", None))
        return execute(sql, params, many, context)

    @property
    def pool(self):
        pool = super().pool
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_quietly if self.checks_quietly else check_connection
        return pool
