"""The scaled-out topology with real processes: HAProxy in front of two app servers, and the failover drill.

The module's fixture starts what ``make cluster`` starts (``gateway.cluster.Topology``: a primary and a
synchronous streaming replica, PgBouncer in transaction mode, two gunicorn servers, HAProxy and a job worker)
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
from collections import Counter
from pathlib import Path

import pytest

from gateway.cluster import DATABASE, Topology, port_in_use, program
from gateway.middleware import IN_DOUBT_CODE
from knowledge.choices import EmbeddingState

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
            worker=True,
            environment={"API_THROTTLE_RATE": "100000/minute", "LOG_LEVEL": "WARNING"},
            postgres_settings={"fsync": "off"},
            seed=False,  # the development data set takes a minute to load; the tests need one key
        )
        topology.manage("shell", "-c", ADMIN_KEY, database_url=topology.node("primary").url(DATABASE))
        yield topology
    finally:
        topology.stop()
        shutil.rmtree(parent, ignore_errors=True)


def answer(topology, method: str, path: str, payload: dict | None = None) -> tuple[int, bytes]:
    """The status and body of one request through HAProxy on a connection of its own; 0 when no HTTP answer came."""
    connection = http.client.HTTPConnection("127.0.0.1", topology.state["haproxy"]["port"], timeout=30)
    try:
        body = json.dumps(payload).encode() if payload is not None else None
        connection.request(method, path, body=body, headers={**ADMIN, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        connection.close()


def request(topology, method: str, path: str, payload: dict | None = None) -> int:
    return answer(topology, method, path, payload)[0]


def outcome_unknown(status: int, body: bytes) -> bool:
    """No answer, HAProxy's 502 (the app never answered) or the app's 503 for a write whose connection broke.

    HAProxy's own 503 (no app server up; an HTML page) refused the write: nothing reached an app server.
    """
    if status in (0, 502):
        return True
    return status == 503 and body.startswith(b"{") and json.loads(body).get("code") == IN_DOUBT_CODE


def new_document(topology, category: str) -> tuple[str, int, bool]:
    """The document's name, the status of its create and whether that answer leaves its outcome unknown."""
    name = f"{category}-{uuid.uuid4().hex[:10]}"
    payload = {"name": name, "content": "Written through HAProxy.", "category": category}
    status, body = answer(topology, "POST", "/api/v1/knowledge-documents/", payload)
    return name, status, outcome_unknown(status, body)


def stored_names(topology, category: str) -> set[str]:
    with topology.node("primary").connect(DATABASE) as conn:
        rows = conn.execute("SELECT name FROM knowledge_documents WHERE category = %s", [category]).fetchall()
    return {name for (name,) in rows}


def embedding_states(topology, category: str) -> dict[str, str]:
    """Each stored document's embedding state, by name (PENDING until the worker ran its embedding job)."""
    with topology.node("primary").connect(DATABASE) as conn:
        rows = conn.execute(
            "SELECT name, embedding_state FROM knowledge_documents WHERE category = %s", [category]
        ).fetchall()
    return dict(rows)


def wait_until_embedded(topology, category: str, timeout: float = 120) -> dict[str, str]:
    """The category's states once none is PENDING any more, or when ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        states = embedding_states(topology, category)
        if EmbeddingState.PENDING not in states.values() or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


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
    print(
        "answers during the drill (status, outcome unknown):",
        Counter((status, unknown) for *_, status, unknown in writes),
    )
    acknowledged = {name for _, name, status, _ in writes if 200 <= status < 300}
    # A write the crash cut off after it reached the database may have committed: neither side can know.
    refused = {name for _, name, status, unknown in writes if status >= 300 and not unknown}
    assert report["acknowledged_writes_at_risk"] == 0
    assert acknowledged - stored == set()
    assert refused & stored == set()
    assert [status for at, _, status, _ in writes if at > failed_over_at + 1] and all(
        status == 201 for at, _, status, _ in writes if at > failed_over_at + 1
    ), writes[-20:]
    assert request(topology, "GET", "/health/ready") == 200
    # The drill's count of what a replica had not received reads real commits from the old primary's WAL.
    acknowledged_before = sum(1 for at, _, status, _ in writes if at < crashed_at and 200 <= status < 300)
    assert topology.commits_after(topology.node("old primary"), began_at_lsn) >= acknowledged_before > 0
    # Each document's embedding job was queued in the transaction that stored it: the worker, connected through
    # PgBouncer to the primary that crashed, runs every one of them on the new primary (none lost, none left behind).
    states = wait_until_embedded(topology, category)
    assert set(states) == stored
    assert Counter(states.values()) == {EmbeddingState.READY: len(stored)}, topology.tail("worker")
