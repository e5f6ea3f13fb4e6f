"""``python -m bench cluster``: the load harness against the scaled-out topology, through two faults and a failover.

It starts what ``make cluster`` starts (``gateway.cluster.Topology``: a primary and a synchronous streaming
replica, PgBouncer in transaction mode, two app servers behind HAProxy) on a throwaway run folder with free
ports, loads the development data set, and drives HAProxy with the load harness's client (``bench.load.client``:
mixed reads, searches, writes and ingest batches, every write logged with its outcome) for three phases of
``--seconds`` each:

1. ``app server crash``: app server 1 is killed (SIGKILL to gunicorn and its workers) a third of the way in;
   it is started again after the phase;
2. ``replica crash``: the replica is stopped in ``immediate`` mode a third of the way in and started again two
   thirds of the way in (while it is gone, synchronous COMMITs wait for it: see docs/SCALING.md);
3. ``failover``: the failover drill (``Topology.failover``: crash the primary, promote the replica, repoint
   PgBouncer) a third of the way in.

Each phase reports throughput, p50/p99 and the error window around its fault; at the end every write of the
three phases is reconciled against the promoted primary (``bench.load.harness.reconcile``): every acknowledged
write is there, no refused one is. Loopback only; everything it started is stopped, whatever happens.
"""

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import RESULTS_DIR, machine

PHASES = ("app server crash", "replica crash", "failover")
# What the reconciliation counts that must be zero (bench.load.harness.reconcile).
WRONG = (
    "lost", "stored_but_refused", "duplicated", "applied_but_refused", "assets_not_in_their_last_acknowledged_status"
)  # fmt: skip


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase (default 30, at most 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--asynchronous", action="store_true", help="asynchronous replication (synchronous_standby_names = '')"
    )
    parser.add_argument("--seed", type=int, default=7, help="workload seed")
    args = parser.parse_args(argv)
    args.seconds = min(args.seconds, 60.0)
    return args


def main(argv=None) -> int:
    args = parse(argv or [])
    from gateway.cluster import REPLICA_NAME, Topology

    parent = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir="/tmp"))
    parent.chmod(0o755)
    topology = Topology(parent / "cluster")
    try:
        print("cluster: starting the topology (migrate and seed included: a few minutes on a busy machine)", flush=True)
        started = time.monotonic()
        topology.start(
            worker=False,
            synchronous_standby_names="" if args.asynchronous else REPLICA_NAME,
            environment={
                "API_THROTTLE_RATE": "1000000/s",
                "API_ANON_THROTTLE_RATE": "1000000/s",
                "LOG_LEVEL": "WARNING",
                "DB_POOL_MAX_SIZE": "4",
            },
        )
        print(f"cluster: up in {time.monotonic() - started:.0f} s; HAProxy on {topology.state['haproxy']['url']}")
        result = run(topology, args)
    finally:
        topology.stop()
        shutil.rmtree(parent, ignore_errors=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / ("cluster-async.json" if args.asynchronous else "cluster.json")
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    print(f"written: {path}")
    return 0 if result["reconciliation"]["ok"] else 1


def run(topology, args) -> dict:
    from gateway.cluster import DATABASE

    # The harness's own connection goes through PgBouncer's session-mode database, so it follows the failover.
    os.environ.update(topology.app_environment(f"{DATABASE}_session"))
    os.environ["DB_POOL"] = "false"
    import django

    django.setup()
    from django.db import connections

    from bench.load import harness

    plan = harness.prepare(harness.new_run_id(), args.concurrency)
    connections.close_all()
    port = topology.state["haproxy"]["port"]
    fault_at = args.seconds / 3
    phases, results = [], []

    def crash_app_server(events):
        time.sleep(fault_at)
        events["fault"] = time.time()
        topology.kill_app_server("app1")
        events["recovered"] = time.time()  # the other server takes the requests at once

    def crash_replica(events):
        replica = topology.node("replica")
        time.sleep(fault_at)
        events["fault"] = time.time()
        replica.stop(mode="immediate")
        time.sleep(fault_at)
        replica.start()
        events["recovered"] = time.time()

    def failover(events):
        time.sleep(fault_at)
        events["fault"] = time.time()
        events["drill"] = topology.failover()
        events["recovered"] = time.time()

    for name, fault in zip(PHASES, (crash_app_server, crash_replica, failover), strict=True):
        if name == "failover":
            wait_for_replica(topology)
        events = {}
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as folder:
            print(f"cluster: {name}, {args.concurrency} clients, {args.seconds:.0f} s ...", flush=True)
            client, out_path = harness.start_client(
                phase_plan(plan, name),
                port=port,
                concurrency=args.concurrency,
                seconds=args.seconds,
                seed=args.seed,
                folder=folder,
            )
            actor = threading.Thread(target=fault, args=(events,))
            actor.start()
            client.wait(timeout=args.seconds + 120)
            actor.join()
            result = json.loads(out_path.read_text())
        unknown_when_proxy_had_no_answer(result)
        results.append(result)
        phases.append(
            {
                "phase": name,
                "summary": result["summary"],
                "per_kind": result["per_kind"],
                "fault": harness.outage(result, events["fault"], events["recovered"]),
                "failed": failed_requests(result, events["fault"]),
                **({"drill": events["drill"]} if "drill" in events else {}),
            }
        )
        if name == "app server crash":
            topology.start_app_server("app1")
    connections.close_all()
    reconciliation = reconcile(plan, results)
    return {
        "target": "cluster",
        "machine": machine(),
        "topology": (
            "primary + streaming replica (embedded PostgreSQL), PgBouncer (transaction mode), 2 app servers "
            f"(gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} workers x {os.environ.get('GUNICORN_THREADS', '4')}"
            " threads), HAProxy, Redis"
        ),
        "replication": "asynchronous" if args.asynchronous else "synchronous",
        "seconds_per_phase": args.seconds,
        "concurrency": args.concurrency,
        "phases": phases,
        "reconciliation": reconciliation,
    }


def phase_plan(plan: dict, phase: str) -> dict:
    """The plan of one phase: its own run id, because each phase's client numbers its conversions and campaigns
    from 1 again (the rows it increments and changes are the plan's, shared by the phases)."""
    return {**plan, "run": f"{plan['run']}p{PHASES.index(phase) + 1}"}


def reconcile(plan: dict, results: list[dict]) -> dict:
    """``harness.reconcile`` over the three phases: ingests and creates per phase (their own ids), summed;
    increments and status changes over all of them (the same rows)."""
    from bench.load import harness

    overall = harness.reconcile(plan, results)
    report = {"incremented": overall["incremented"], "status_changed": overall["status_changed"]}
    for phase, result in zip(PHASES, results, strict=True):
        part = harness.reconcile(phase_plan(plan, phase), [result])
        for kind in ("ingested", "created"):
            totals = report.setdefault(kind, dict.fromkeys(part[kind], 0))
            for key, value in part[kind].items():
                totals[key] += value
    report["ok"] = all(part.get(key, 0) == 0 for part in report.values() for key in WRONG)
    return report


def wait_for_replica(topology, timeout: float = 60) -> None:
    """Until the restarted replica streams again (and, when synchronous, is the synchronous standby)."""
    wanted = "sync" if topology.state["synchronous_standby_names"] else "async"
    deadline = time.monotonic() + timeout
    with topology.node("primary").connect() as conn:
        while conn.execute("SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'").fetchone() != (
            wanted,
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not stream again within 60 s")
            time.sleep(0.5)


def failed_requests(result: dict, fault_at: float) -> list[dict]:
    """Each request that got no 2xx: when it began and ended (seconds from the fault), what it was, its status."""
    return [
        {"began_s": round(began - fault_at, 3), "ended_s": round(ended - fault_at, 3), "kind": kind, "name": name,
         "status": status}
        for began, ended, kind, name, status in sorted(result["timeline"])
        if not 200 <= status < 300
    ]  # fmt: skip


def unknown_when_proxy_had_no_answer(result: dict) -> None:
    """A 502 is HAProxy saying the app server never answered (it died mid-request): the write's outcome is
    unknown, as with a broken connection, not refused. The reconciliation counts those separately."""
    writes = result["writes"]
    for entry in (*writes["ingests"], *writes["increments"], *writes["status_changes"]):
        if entry["status"] == 502:
            entry["status"] = 0
    writes["creates"] = [(name, 0 if status == 502 else status) for name, status in writes["creates"]]


def report(result: dict) -> str:
    lines = [f"\ncluster ({result['replication']} replication, {result['concurrency']} clients):"]
    for phase in result["phases"]:
        summary, fault = phase["summary"], phase["fault"]
        lines.append(
            f"  {phase['phase']:<18} {summary['rps']:7.1f} req/s  p50 {summary['p50_ms'] or 0:6.1f} ms  "
            f"p99 {summary['p99_ms'] or 0:7.1f} ms  errors {summary['errors']}/{summary['requests']}  "
            f"error window {fault['failure_window_s']:.2f} s ({fault['failed_statuses'] or 'none'}), "
            f"slowest {summary['max_ms'] or 0:.0f} ms"
        )
        if "drill" in phase:
            drill = phase["drill"]
            lines.append(
                f"  {'':<18} drill {drill['total_s']:.2f} s (stop {drill['primary_stopped_in_s']:.2f}, promote "
                f"{drill['promoted_in_s']:.2f}, PgBouncer {drill['pgbouncer_repointed_in_s']:.2f}); commits the "
                f"replica never received: {drill['commits_not_replicated']}, acknowledged writes at risk: "
                f"{drill['acknowledged_writes_at_risk']}"
            )
    lines.append(f"  reconciliation: {json.dumps(result['reconciliation'])}")
    return "\n".join(lines)
