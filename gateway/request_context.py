"""The request context: which request a log line, an error report or a query belongs to.

Every request gets an id. An incoming ``X-Request-ID`` is kept when it is sane (1 to 128 ASCII
letters, digits and ``-_.:+=/``, what load balancers and tracing systems send), otherwise a new one
is made (32 hex digits). The id is echoed in the response's ``X-Request-ID``, added to every log
record written while the request runs (``RequestContextFilter``), and tagged on Sentry events.

``RequestContextMiddleware`` also times the request and the database work it caused (every query,
through Django's ``execute_wrapper``), logs statements slower than ``SLOW_QUERY_MS``, and writes one
access line per request on the ``gateway.request`` logger: method, route (the URL pattern, not the
path), status, duration, database time and query count, user id and API key prefix (never a key).

django-guid does most of this but accepts only UUIDs as incoming ids; load balancers send other
shapes (``Root=1-67891233-abcdef012345678912345678``), and the database timing is ours anyway.
"""

import contextvars
import logging
import re
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pghistory
from django.conf import settings
from django.db import connections
from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}", re.ASCII)

access_logger = logging.getLogger("gateway.request")
slow_query_logger = logging.getLogger("gateway.slow_query")


@dataclass
class RequestContext:
    request_id: str
    user_id: str | None = None
    api_key_prefix: str | None = None
    queries: int = 0
    database_seconds: float = 0.0
    # Read routing (gateway/db/router.py): whether the request wrote, must read the primary (the admin), whether
    # its client is pinned to the primary (None: not looked up yet), its session cookie (for the pin) and the
    # alias its replica reads go to (chosen once per request).
    wrote: bool = False
    primary_only: bool = False
    pinned: bool | None = None
    session_key: str | None = None
    read_alias: str | None = None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("request_context", default=None)


def current() -> RequestContext | None:
    """The context of the request this code runs for; ``None`` outside a request (commands, jobs)."""
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


def with_request_id(body: dict) -> dict:
    """An error body with the request's id added (``request_id``), so a client can quote it."""
    request_id = current_request_id()
    if request_id is not None and isinstance(body, dict):
        body["request_id"] = request_id
    return body


@contextmanager
def bound(*, request_id: str, user_id=None):
    """Run the block as part of request ``request_id`` (a job it queued): log lines and errors carry the id."""
    token = _current.set(RequestContext(request_id=request_id, user_id=str(user_id) if user_id is not None else None))
    try:
        yield
    finally:
        _current.reset(token)


def identify(*, user_id, api_key_prefix: str | None = None) -> None:
    """Record who the request is from, as soon as authentication knows (log lines, Sentry events, history)."""
    context = _current.get()
    if context is not None:
        context.user_id = str(user_id) if user_id is not None else None
        context.api_key_prefix = api_key_prefix
    # DRF authenticates after Django's middleware: the history of the request's changes learns it here.
    pghistory.context(user=str(user_id) if user_id is not None else None, api_key_prefix=api_key_prefix)


def request_id_from(header: str | None) -> str:
    """The incoming id when it is sane, otherwise a new one."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_of(request) -> str | None:
    """The URL pattern that served the request, with ``{name}`` for its arguments: ``api/v1/assets/{pk}/``."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return None
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", match.route)  # DRF routers write regular expressions
    return "/" + route.replace("^", "").replace("$", "").replace("\\.", ".")


class RequestContextMiddleware:
    """Outermost middleware: the request id, the access line and the database time of every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = RequestContext(request_id=request_id_from(request.headers.get(REQUEST_ID_HEADER)))
        request.request_id = context.request_id
        token = _current.set(context)
        started = time.perf_counter()
        try:
            with ExitStack() as stack:
                for connection in connections.all():
                    stack.enter_context(connection.execute_wrapper(self.timed_query))
                response = self.get_response(request)
            response[REQUEST_ID_HEADER] = context.request_id
            self.log_access(request, response, context, time.perf_counter() - started)
            return response
        finally:
            _current.reset(token)

    def process_exception(self, request, exception):
        # An unhandled error is reported (Sentry) before the response exists: say who it was for.
        self.identify_from(request, _current.get())

    @staticmethod
    def timed_query(execute, sql, params, many, query_context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, query_context)
        finally:
            elapsed = time.perf_counter() - started
            context = _current.get()
            if context is not None:
                context.queries += 1
                context.database_seconds += elapsed
            threshold = settings.SLOW_QUERY_MS
            if threshold and elapsed * 1000 >= threshold:
                # The statement with its placeholders, never its parameters (they may hold secrets).
                slow_query_logger.warning(
                    "slow query: %.1f ms: %s",
                    elapsed * 1000,
                    sql[:2000],
                    extra={"duration_ms": round(elapsed * 1000, 2), "sql": sql[:2000]},
                )

    @staticmethod
    def identify_from(request, context: RequestContext | None) -> None:
        if context is None or context.user_id is not None:
            return
        user = getattr(request, "user", None)
        # A lazy user nobody looked at is left alone: loading it would cost a session query.
        if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
            return
        if user is not None and user.is_authenticated:
            auth = getattr(request, "auth", None)
            identify(user_id=user.pk, api_key_prefix=getattr(auth, "prefix", None))

    def log_access(self, request, response, context: RequestContext, seconds: float) -> None:
        self.identify_from(request, context)
        route = route_of(request)
        duration_ms = round(seconds * 1000, 2)
        database_ms = round(context.database_seconds * 1000, 2)
        access_logger.info(
            "%s %s %s %.1f ms (%d queries, %.1f ms database)",
            request.method,
            route or request.path,
            response.status_code,
            duration_ms,
            context.queries,
            database_ms,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "db_ms": database_ms,
                "db_queries": context.queries,
                "user_id": context.user_id,
                "api_key_prefix": context.api_key_prefix,
            },
        )


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` (``-`` outside a request) to every record the handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request logs a 4xx/5xx after the middleware has finished, with the request attached.
            request_id = current_request_id() or getattr(getattr(record, "request", None), "request_id", None)
            record.request_id = request_id or "-"
        return True


def sentry_before_send(event: dict, hint: dict) -> dict:
    """Tag a Sentry event with the request id and the user's id: nothing else about the person."""
    context = _current.get()
    if context is not None:
        event.setdefault("tags", {})["request_id"] = context.request_id
        if context.user_id is not None:
            event["user"] = {"id": context.user_id}
    return event
