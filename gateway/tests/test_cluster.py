"""The scaled-out topology with real processes: HAProxy in front of two app servers, and the failover drill.

The module's fixture starts what ``make cluster`` starts (``gateway.cluster.Topology``: a primary and a
synchronous streaming replica, PgBouncer in transaction mode, two gunicorn servers and HAProxy; no job worker)
on a throwaway run folder with free ports, and stops every process it started however the tests end.
Skipped when pgbouncer or haproxy is not installed, or no Redis is at hand (``.ci/run`` installs all three).
"""

import http.client
import json
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from gateway.cluster import DATABASE, Topology, port_in_use, program

pytestmark = [
    pytest.mark.embedded_server,
    pytest.mark.skipif(
        program("pgbouncer") is None or program("haproxy") is None,
        reason="pgbouncer and haproxy are not installed (apt-get install pgbouncer haproxy)",
    ),
    pytest.mark.skipif(
        program("redis-server") is None and not port_in_use(6379),
        reason="no Redis on 127.0.0.1:6379 and redis-server is not installed (apt-get install redis-server)",
    ),
]

ADMIN = {"Authorization": "Api-Key cluster_admin_key_12345"}
ADMIN_KEY = (
    "from users.choices import Role; from users.models import User; from users.services import api_key_issue; "
    "api_key_issue(user=User.objects.create_user(email='cluster@example.com', name='Cluster', role=Role.ADMIN), "
    "name='cluster', key='cluster_admin_key_12345')"
)


@pytest.fixture(scope="module")
def topology():
    parent = Path(tempfile.mkdtemp(prefix="gateway-cluster-", dir="/tmp"))
    parent.chmod(0o755)
    topology = Topology(parent / "cluster")
    try:
        topology.start(
            worker=False,
            environment={"API_THROTTLE_RATE": "100000/minute", "LOG_LEVEL": "WARNING"},
            postgres_settings={"fsync": "off"},
            seed=False,  # the development data set takes a minute to load; the tests need one key
        )
        topology.manage("shell", "-c", ADMIN_KEY, database_url=topology.node("primary").url(DATABASE))
        yield topology
    finally:
        topology.stop()
        shutil.rmtree(parent, ignore_errors=True)


def request(topology, method: str, path: str, payload: dict | None = None) -> int:
    """The status of one request through HAProxy on a connection of its own; 0 when no HTTP answer came."""
    connection = http.client.HTTPConnection("127.0.0.1", topology.state["haproxy"]["port"], timeout=30)
    try:
        body = json.dumps(payload).encode() if payload is not None else None
        connection.request(method, path, body=body, headers={**ADMIN, "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


def new_document(topology, category: str) -> tuple[str, int]:
    name = f"{category}-{uuid.uuid4().hex[:10]}"
    payload = {"name": name, "content": "Written through HAProxy.", "category": category}
    return name, request(topology, "POST", "/api/v1/knowledge-documents/", payload)


def stored_names(topology, category: str) -> set[str]:
    with topology.node("primary").connect(DATABASE) as conn:
        rows = conn.execute("SELECT name FROM knowledge_documents WHERE category = %s", [category]).fetchall()
    return {name for (name,) in rows}


def test_a_crashed_app_server_costs_no_failed_request(topology):
    category = f"crash-{uuid.uuid4().hex[:8]}"
    assert request(topology, "GET", "/api/v1/assets/") == 200
    topology.kill_app_server("app1")
    try:
        statuses = [request(topology, "GET", "/api/v1/assets/") for _ in range(20)]
        statuses += [new_document(topology, category)[1] for _ in range(10)]
        assert statuses == [200] * 20 + [201] * 10
    finally:
        # Back in rotation once it answers HAProxy's check; no test waits for it.
        topology.start_app_server("app1", wait=False)


def test_a_failover_with_synchronous_replication_loses_no_acknowledged_write(topology):
    assert topology.state["synchronous_standby_names"]
    category = f"failover-{uuid.uuid4().hex[:8]}"
    writes, stop = [], threading.Event()

    def write():
        while not stop.is_set():
            writes.append((time.monotonic(), *new_document(topology, category)))

    with topology.node("primary").connect() as conn:
        began_at_lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(2)
        crashed_at = time.monotonic()
        report = topology.failover()
        failed_over_at = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        writer.join(60)
    stored = stored_names(topology, category)
    acknowledged = {name for _, name, status in writes if 200 <= status < 300}
    # A 502 is HAProxy saying the app never answered: its outcome is unknown, not refused.
    refused = {name for _, name, status in writes if status >= 300 and status != 502}
    assert report["acknowledged_writes_at_risk"] == 0
    assert acknowledged - stored == set()
    assert refused & stored == set()
    assert [status for at, _, status in writes if at > failed_over_at + 1] and all(
        status == 201 for at, _, status in writes if at > failed_over_at + 1
    ), writes[-20:]
    assert request(topology, "GET", "/health/ready") == 200
    # The drill's count of what a replica had not received reads real commits from the old primary's WAL.
    acknowledged_before = sum(1 for at, _, status in writes if at < crashed_at and 200 <= status < 300)
    assert topology.commits_after(topology.node("old primary"), began_at_lsn) >= acknowledged_before > 0
