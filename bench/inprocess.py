"""Requests served in this process, and their same-run baseline: the request's own SQL through raw psycopg.

A request goes through Django's request handler with every middleware (``BaseHandler.get_response``),
built with ``RequestFactory``, so its time is server time: no socket, no WSGI server. The connection
stays checked out between requests (a WSGI server's ``request_finished`` is not sent), so neither side
pays for connecting.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from bench.harness import explain, median, paired


@dataclass
class Measured:
    """A request's medians and what it ran."""

    figure_ms: float
    baseline_ms: float
    queries: list[str]
    status: int
    size: int
    plans: list[dict] = field(default_factory=list)
    figures: list[float] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)


class Server:
    """Django's request handler with the project's middleware, for in-process requests."""

    def __init__(self):
        from django.core.handlers.base import BaseHandler
        from django.test import RequestFactory

        self.handler = BaseHandler()
        self.handler.load_middleware()
        self.factory = RequestFactory()

    def request(self, method: str, path: str, *, headers: dict | None = None, **kwargs):
        request = getattr(self.factory, method.lower())(path, headers=headers or {}, **kwargs)
        response = self.handler.get_response(request)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        # Not ``response.close()``: that sends ``request_finished``, which hands the connection back to the
        # pool, and the next request would pay for checking one out (the gunicorn benchmark measures that).
        content = response.content if not response.streaming else b"".join(response.streaming_content)
        return response, content


def capture(make: Callable, connection=None) -> tuple[list[str], object, bytes]:
    """Run ``make()`` (returning ``(response, content)``) once, recording the SQL it ran."""
    from django.db import connection as default
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection or default) as captured:
        response, content = make()
    return [query["sql"] for query in captured.captured_queries], response, content


def encode_rows(cursor) -> bytes:
    """The cursor's rows as a JSON array of objects, by orjson (decimals as strings, as the API does)."""
    if cursor.description is None:
        return b""
    names = [column.name for column in cursor.description]
    return orjson.dumps([dict(zip(names, row, strict=True)) for row in cursor.fetchall()], default=str)


def baseline_of(queries: list[str], raw) -> Callable:
    """A function running ``queries`` on the raw psycopg connection ``raw`` and encoding each result."""
    statements = [sql for sql in queries if sql.lstrip().upper().startswith(("SELECT", "WITH"))]

    def run():
        with raw.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                encode_rows(cursor)

    return run


def measure(make: Callable, raw, *, repeat: int, expect: int = 200, explain_queries: bool = True) -> Measured:
    """Time ``make`` against the baseline of its own SQL; EXPLAIN (ANALYZE, BUFFERS) each query it ran."""
    make()  # warm caches (plans, the API key's last_used_at write) before the SQL is captured
    queries, response, content = capture(make)
    if response.status_code != expect:
        raise AssertionError(f"status {response.status_code} (expected {expect}): {content[:500]!r}")
    baseline = baseline_of(queries, raw)
    figures, baselines = paired(make, baseline, repeat=repeat)
    plans = []
    if explain_queries:
        for sql in queries:
            if sql.lstrip().upper().startswith("SELECT") and '"api_keys"' not in sql:
                plans.append({"sql": sql, **explain(sql)})
    return Measured(
        figure_ms=median(figures),
        baseline_ms=median(baselines),
        queries=queries,
        status=response.status_code,
        size=len(content),
        plans=plans,
        figures=figures,
        baselines=baselines,
    )
