"""Request ids, structured logs, metrics and error reports (docs/OBSERVABILITY.md).

The in-process tests drive the API through the test client and read the log records. The served
tests start gunicorn (2 workers) the way production runs it, with JSON logs, a metrics token, the
multi-process metrics folder and a Sentry DSN pointing at a local receiver that speaks Sentry's
envelope protocol, and look at what an operator would see: the log file, ``/metrics`` and the events.
"""

import gzip
import http.server
import io
import json
import logging
import re
import secrets
import threading
import time
from pathlib import Path

import prometheus_client
import pytest
from django.conf import settings
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateWorker
from pythonjsonlogger.json import JsonFormatter

from campaigns.tasks import evaluate_running_experiments
from conftest import GUNICORN_COMMAND, serve
from gateway.jobs import defer
from gateway.metrics import job_queue_registry
from gateway.request_context import SANE_REQUEST_ID, route_of
from gateway.tasks import purge_idempotency_keys, purge_transfer_files
from gateway.tests.api_helpers import client_for
from gateway.tests.job_helpers import Worker, job_row, wait_for
from media.factories import AssetFactory
from users.factories import UserFactory
from users.models import ApiKey
from users.services import api_key_issue

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log():
    """What the configured console handler writes (JSON, as in production), as a list of parsed lines."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


@pytest.mark.django_db
class TestRequestIds:
    def test_a_request_without_an_id_gets_a_new_one(self, user_client):
        response = user_client.get("/api/v1/users/me/")
        assert HEX_ID.fullmatch(response["X-Request-ID"])
        assert user_client.get("/api/v1/users/me/")["X-Request-ID"] != response["X-Request-ID"]

    @pytest.mark.parametrize("incoming", ["abc-123", "Root=1-67891233-abcdef012345678912345678", "x" * 128])
    def test_a_sane_incoming_id_is_kept(self, user_client, incoming):
        assert user_client.get("/api/v1/users/me/", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming

    @pytest.mark.parametrize("incoming", ["x" * 129, "two words", 'a"quote', "naïve", "", "id;drop"])
    def test_an_insane_incoming_id_is_replaced(self, user_client, incoming):
        answered = user_client.get("/api/v1/users/me/", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"]
        assert answered != incoming and HEX_ID.fullmatch(answered)

    def test_errors_and_pages_outside_the_api_carry_it_too(self, client, user_client):
        assert HEX_ID.fullmatch(user_client.get("/api/v1/assets/not-a-uuid/")["X-Request-ID"])
        assert HEX_ID.fullmatch(client.get("/health/live")["X-Request-ID"])
        assert HEX_ID.fullmatch(client.get("/admin/login/")["X-Request-ID"])

    @pytest.mark.parametrize(
        ("method", "path", "body", "status"),
        [
            ("get", "/api/v1/assets/not-a-uuid/", None, 404),
            ("get", "/api/v1/no-such-endpoint/", None, 404),
            ("post", "/api/v1/campaigns/", {"name": "x", "budget": "-1"}, 400),
            ("delete", "/api/v1/users/me/", None, 405),
        ],
    )
    def test_every_error_body_carries_it(self, user_client, method, path, body, status):
        response = getattr(user_client, method)(path, body, HTTP_X_REQUEST_ID=f"err-{status}")
        assert response.status_code == status
        assert response.json()["request_id"] == f"err-{status}" == response["X-Request-ID"]

    def test_an_authentication_error_carries_it(self, client):
        response = client.get("/api/v1/users/me/", HTTP_X_API_KEY="nope", HTTP_X_REQUEST_ID="err-401")
        assert response.status_code == 401 and response.json()["request_id"] == "err-401"

    def test_the_sane_pattern_is_ascii_only(self):
        assert not SANE_REQUEST_ID.fullmatch("１２３")  # fullwidth digits are \d in Unicode mode


@pytest.mark.django_db
class TestLogLines:
    def test_one_access_line_per_request_with_route_status_time_queries_and_caller(self, user, json_log):
        asset = AssetFactory(user=user)
        client = client_for(user)
        key = ApiKey.objects.get(user=user)

        response = client.get(f"/api/v1/assets/{asset.pk}/", HTTP_X_REQUEST_ID="trace-me-1")

        (line,) = [line for line in json_log() if line["logger"] == "gateway.request"]
        assert line["request_id"] == "trace-me-1" == response["X-Request-ID"]
        assert line["level"] == "INFO" and line["time"]
        assert line["method"] == "GET"
        assert line["route"] == "/api/v1/assets/{pk}/"
        assert line["status"] == 200
        assert line["duration_ms"] > 0 and 0 < line["db_ms"] <= line["duration_ms"]
        assert line["db_queries"] >= 2
        assert line["user_id"] == str(user.pk)
        assert line["api_key_prefix"] == key.prefix

    def test_every_line_written_during_a_request_carries_its_id(self, user, json_log, settings):
        settings.SLOW_QUERY_MS = 0.000001  # every statement is "slow"
        client_for(user).get("/api/v1/users/me/", HTTP_X_REQUEST_ID="trace-me-2")
        lines = json_log()
        slow = [line for line in lines if line["logger"] == "gateway.slow_query"]
        assert slow and all(line["request_id"] == "trace-me-2" for line in slow)
        assert all(line["duration_ms"] >= 0 and line["sql"] for line in slow)
        assert any(line["sql"].startswith("SELECT") for line in slow)
        assert "%s" in " ".join(line["sql"] for line in slow)  # placeholders, never the parameters

    def test_a_line_outside_a_request_has_no_id(self, json_log):
        logging.getLogger("gateway.test").warning("outside")
        (line,) = [line for line in json_log() if line["logger"] == "gateway.test"]
        assert line["request_id"] == "-"

    def test_an_anonymous_request_names_no_user(self, client, json_log):
        client.get("/api/v1/users/me/")
        (line,) = [line for line in json_log() if line["logger"] == "gateway.request"]
        assert line["status"] == 401 and line["user_id"] is None and line["api_key_prefix"] is None


def test_route_of_a_request_outside_any_pattern_is_none(rf):
    assert route_of(rf.get("/nowhere")) is None


# --- the served project -------------------------------------------------------------------------


class SentryReceiver(http.server.ThreadingHTTPServer):
    """Accepts the SDK's envelopes (``POST /api/<project>/envelope/``, gzip or plain) and keeps their events."""

    def __init__(self):
        self.events: list[dict] = []
        self.raw: list[bytes] = []
        super().__init__(("127.0.0.1", 0), EnvelopeHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://public0123456789abcdef@127.0.0.1:{self.server_address[1]}/1"

    def wait_for(self, predicate, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no such event among {len(self.events)}: {[e.get('message') for e in self.events]}")


class EnvelopeHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.raw.append(body)
        lines = body.split(b"\n")
        index = 1  # line 0 is the envelope's header
        while index < len(lines) - 1:
            item = json.loads(lines[index])
            payload = lines[index + 1]
            if item.get("type") == "event":
                self.server.events.append(json.loads(payload))
            index += 2
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def sentry():
    receiver = SentryReceiver()
    yield receiver
    receiver.shutdown()


@pytest.fixture(scope="module")
def observed(django_db_setup, django_db_blocker, tmp_path_factory, sentry):
    """gunicorn (2 workers) with JSON logs, metrics on a token and Sentry reporting to the local receiver."""
    token = secrets.token_urlsafe(24)
    environment = {
        "DJANGO_SETTINGS_MODULE": "gateway.tests.observed_settings",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "METRICS_TOKEN": token,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus")),
        "SENTRY_DSN": sentry.dsn,
    }
    with django_db_blocker.unblock():
        server = serve(tmp_path_factory, GUNICORN_COMMAND, environment)
    server.token = token
    yield server
    server.stop()


def log_lines(server) -> list[dict]:
    lines = []
    for raw in server.log.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def metric_total(text: str, name: str, **labels) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name:
            found = dict(re.findall(r'(\w+)="([^"]*)"', match[2] or ""))
            if all(found.get(key) == value for key, value in labels.items()):
                total += float(match[3])
    return total


@pytest.fixture
def caller(db):
    user = UserFactory()
    key, secret = api_key_issue(user=user, name="observed")
    return user, key, secret


pytestmark_served = pytest.mark.django_db(transaction=True)


@pytestmark_served
def test_the_served_access_line_is_json_with_the_request_id(observed, caller):
    user, key, secret = caller
    status, headers, _ = observed.request(
        "GET", "/api/v1/users/me/", headers={"X-API-Key": secret, "X-Request-ID": "served-1"}
    )
    assert status == 200 and headers["X-Request-ID"] == "served-1"
    deadline = time.monotonic() + 5
    while not (lines := [line for line in log_lines(observed) if line.get("request_id") == "served-1"]):
        assert time.monotonic() < deadline, observed.log.read_text()[-3000:]
        time.sleep(0.1)
    (line,) = lines
    assert line["route"] == "/api/v1/users/me/" and line["status"] == 200
    assert line["user_id"] == str(user.pk) and line["api_key_prefix"] == key.prefix


@pytestmark_served
def test_metrics_need_the_token_and_count_requests_across_workers(observed, caller):
    _, _, secret = caller
    assert observed.request("GET", "/metrics")[0] == 401
    assert observed.request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert observed.request("GET", "/metrics", headers={"Authorization": f"Token {observed.token}"})[0] == 401

    def scrape() -> str:
        status, _, body = observed.request("GET", "/metrics", headers={"Authorization": f"Bearer {observed.token}"})
        assert status == 200
        return body.decode()

    before = scrape()
    for _ in range(6):  # on new connections: both workers serve some
        assert observed.request("GET", "/api/v1/users/me/", headers={"X-API-Key": secret})[0] == 200
    observed.request("GET", "/api/v1/users/me/", headers={"X-API-Key": "not-a-key"})
    after = scrape()

    view = {"view": "user-me"}
    name = "django_http_responses_total_by_status_view_method_total"
    assert metric_total(after, name, status="200", **view) - metric_total(before, name, status="200", **view) == 6
    assert (
        metric_total(after, "gateway_api_key_authentications_total", outcome="success")
        - metric_total(before, "gateway_api_key_authentications_total", outcome="success")
        == 6
    )
    assert (
        metric_total(after, "gateway_api_key_authentications_total", outcome="refused")
        - metric_total(before, "gateway_api_key_authentications_total", outcome="refused")
        == 1
    )
    assert metric_total(after, "django_db_execute_total") > metric_total(before, "django_db_execute_total")
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in after
    assert "django_db_query_duration_seconds_bucket" in after
    assert "django_cache_get_total" in after


@pytestmark_served
def test_an_unhandled_error_reaches_sentry_with_the_request_id_and_only_the_user_id(observed, sentry, caller):
    user, _, secret = caller
    status, _, _ = observed.request(
        "GET", "/api/v1/failures/unhandled/", headers={"X-API-Key": secret, "X-Request-ID": "boom-1"}
    )
    assert status == 500
    event = sentry.wait_for(lambda event: event.get("tags", {}).get("request_id") == "boom-1")
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["user"] == {"id": str(user.pk)}
    sent = json.dumps(event)
    assert secret not in sent and user.email not in sent


@pytestmark_served
def test_a_handled_error_reaches_sentry_as_its_log_line(observed, sentry, caller):
    _, _, secret = caller
    status, _, body = observed.request(
        "GET", "/api/v1/failures/database/", headers={"X-API-Key": secret, "X-Request-ID": "boom-2"}
    )
    assert status == 503 and json.loads(body)["detail"].startswith("The database is unavailable")
    assert json.loads(body)["request_id"] == "boom-2"
    event = sentry.wait_for(lambda event: event.get("tags", {}).get("request_id") == "boom-2")
    assert event["level"] == "error" and "database unavailable" in json.dumps(event)


@pytestmark_served
def test_no_log_line_and_no_report_holds_a_key_or_a_password(observed, sentry, caller):
    _, _, secret = caller
    password = "correct horse battery staple 42"
    observed.request("GET", "/api/v1/users/me/", headers={"Authorization": f"Api-Key {secret}"})
    observed.request("GET", "/api/v1/users/me/", headers={"X-API-Key": secret + "x"})
    observed.request(
        "POST",
        "/admin/login/",
        body=f"username=nobody%40example.com&password={password.replace(' ', '+')}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    observed.request("GET", "/api/v1/failures/unhandled/", headers={"X-API-Key": secret})
    time.sleep(1)
    written = observed.log.read_text() + b"".join(sentry.raw).decode("utf-8", "replace")
    assert secret not in written
    assert password not in written and password.replace(" ", "+") not in written


class TestJobQueueMetrics:
    """``/metrics`` reads the job queue from PostgreSQL: what waits and runs, how long the oldest due job has
    waited, and the workers alive (``gateway.jobs.queue_state``)."""

    pytestmark = pytest.mark.django_db(transaction=True)

    def scrape(self, client) -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")
        assert response.status_code == 200
        return response.content.decode()

    def test_what_waits_for_how_long_and_the_workers_alive(self, empty_queue, client, settings, tmp_path):
        settings.METRICS_TOKEN = "scrape-token"
        waiting = defer(purge_idempotency_keys, timestamp=1).job_id
        defer(purge_transfer_files, timestamp=1)
        defer(evaluate_running_experiments.configure(schedule_in={"hours": 1}), timestamp=1)  # not due yet
        with connection.cursor() as cursor:  # queued ten minutes ago
            cursor.execute(
                "UPDATE procrastinate_events SET at = at - interval '10 minutes' WHERE job_id = %s", [waiting]
            )

        text = self.scrape(client)
        assert 'gateway_jobs{queue="default",status="todo"} 3.0' in text
        assert metric_total(text, "gateway_jobs", status="doing") == 0
        assert 600 <= metric_total(text, "gateway_jobs_oldest_due_seconds") < 660
        assert metric_total(text, "gateway_job_workers_alive") == 0

        worker = Worker(tmp_path / "worker.log")
        try:
            wait_for(lambda: job_row(waiting)["status"] == "succeeded", timeout=60, message=worker.output()[-3000:])
            text = self.scrape(client)
            assert metric_total(text, "gateway_job_workers_alive") == 1
            assert metric_total(text, "gateway_jobs_oldest_due_seconds") < 600  # the old job ran

            # Killed, a worker cannot unregister: it stops counting once its heartbeat is older than the limit.
            settings.JOB_STALLED_WORKER_SECONDS = 2
            worker.kill()
            assert ProcrastinateWorker.objects.exists()
            wait_for(lambda: metric_total(self.scrape(client), "gateway_job_workers_alive") == 0, timeout=15)
        finally:
            worker.stop()


@pytest.mark.django_db
def test_every_metric_the_dashboard_queries_is_exported(client):
    client.get("/health/live")  # the request metrics are registered with the first request through the middleware
    dashboard = json.loads((Path(settings.BASE_DIR) / "deploy/grafana/dashboards/gateway.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:django|gateway)_\w+", target["expr"])
    }
    exported = set()
    for family in [*prometheus_client.REGISTRY.collect(), *job_queue_registry.collect()]:
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        exported |= {family.name + suffix for suffix in suffixes}
    assert len(queried) >= 10
    assert sorted(queried - exported) == []
