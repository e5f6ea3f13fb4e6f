"""``python -m bench.load [steady|restart|all]``: the load harness, a benchmark (see bench/load/__init__.py)."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

from bench.harness import RESULTS_DIR, ROOT, machine

DEFAULT_CONCURRENCY = "1,4,16"


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", default="all", choices=("all", "steady", "restart"))
    parser.add_argument("--database", default=None, help="steady: gateway_bench; restart: gateway_load")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="embedded server folder (steady: the project's; restart: .data/postgres-load, never the shared one)",
    )
    parser.add_argument("--scale", type=int, default=50, help="seed --scale for a data set built here (default 50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="steady: seconds per concurrency (default 20)")
    parser.add_argument("--warmup", type=float, default=2.0, help="steady: seconds not counted (default 2)")
    parser.add_argument("--concurrency", default=DEFAULT_CONCURRENCY, help="steady: client threads (default 1,4,16)")
    parser.add_argument("--restart-seconds", type=float, default=40.0, help="restart: run length (default 40)")
    parser.add_argument("--restart-concurrency", type=int, default=8, help="restart: client threads (default 8)")
    parser.add_argument("--stop-at", type=float, default=12.0, help="restart: stop the database after N s")
    parser.add_argument("--down", type=float, default=5.0, help="restart: seconds the database stays down")
    parser.add_argument("--seed", type=int, default=7, help="workload seed")
    parser.add_argument("--keep", action="store_true", help="keep the rows the run added (for inspection)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    if args.target == "all":
        return run_all([arg for arg in argv if arg != "all"])
    from bench.load import harness

    if args.target == "steady":
        database = args.database or "gateway_bench"
        harness.setup_django(database, args.data_dir)
        result = steady(args, database)
    else:
        database = args.database or "gateway_load"
        data_dir = args.data_dir or ".data/postgres-load"
        if os.environ.get("DATABASE_URL"):
            raise SystemExit("the restart run stops and starts an embedded server: unset DATABASE_URL")
        shared = ROOT / os.environ.get("EMBEDDED_DATA_DIR", ".data/postgres")
        if (ROOT / data_dir).resolve() == shared.resolve():
            raise SystemExit("refusing to restart the project's shared embedded server: give another --data-dir")
        harness.setup_django(database, data_dir)
        result = restart(args, database, data_dir)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"load-{args.target}.json").write_text(json.dumps(result, indent=2) + "\n")
    print("LOAD-RESULT " + json.dumps(result), flush=True)
    return 0 if result["reconciliation"]["ok"] and result.get("steady_errors", 0) == 0 else 1


def steady(args, database: str) -> dict:
    from bench.load import harness

    if database == "gateway_bench":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('campaigns') IS NOT NULL")
            migrated = cursor.fetchone()[0]
            count = 0
            if migrated:
                cursor.execute("SELECT count(*) FROM campaigns")
                count = cursor.fetchone()[0]
        if count < 10:
            raise SystemExit(
                "gateway_bench has no data set: build it with `python -m bench dataset`, "
                "or run on a smaller one of this harness's own: --database gateway_bench_load --scale 50"
            )
    counts = harness.ensure_dataset(database, args.data_dir, args.scale)
    levels = [int(level) for level in args.concurrency.split(",")]
    plan = harness.prepare(harness.new_run_id(), max(levels))
    server = harness.Gunicorn(harness.server_environment(database, args.data_dir))
    runs = []
    try:
        for level in levels:
            print(f"load: steady, {level} client(s), {args.seconds:.0f} s ...", flush=True)
            result = harness.drive(
                plan, port=server.port, concurrency=level, seconds=args.seconds, warmup=args.warmup, seed=args.seed
            )
            runs.append(result)
            print(table_line(f"concurrency {level}", result["summary"]), flush=True)
    finally:
        server.stop()
    reconciliation = harness.reconcile(plan, runs)
    if not args.keep:
        harness.cleanup(plan)
    return {
        "target": "steady",
        "database": database,
        "data_set": counts,
        "server": f"gunicorn {harness.WORKERS} workers x {harness.THREADS} threads (gthread), connection pool",
        "runs": [strip(run) for run in runs],
        "steady_errors": sum(run["summary"]["errors"] for run in runs),
        "reconciliation": reconciliation,
    }


def restart(args, database: str, data_dir: str) -> dict:
    from django.conf import settings
    from django.db import connections

    from bench.load import harness
    from gateway.embedded import ensure_server, stop_server

    counts = harness.ensure_dataset(database, data_dir, args.scale)
    plan = harness.prepare(harness.new_run_id(), args.restart_concurrency)
    connections.close_all()
    server = harness.Gunicorn(harness.server_environment(database, data_dir))
    data_path = settings.DATABASES["default"]["EMBEDDED_DATA_DIR"]
    events = {}
    try:
        with tempfile.TemporaryDirectory(prefix="load-restart-") as folder:
            client, out_path = harness.start_client(
                plan,
                port=server.port,
                concurrency=args.restart_concurrency,
                seconds=args.restart_seconds,
                seed=args.seed,
                folder=folder,
            )

            def bounce():
                time.sleep(args.stop_at)
                events["stopped_at"] = time.time()
                stop_server(data_path)
                events["stopped_in_s"] = time.time() - events["stopped_at"]
                time.sleep(args.down)
                events["starting_at"] = time.time()
                ensure_server(data_path, database)
                events["started_at"] = time.time()

            print(
                f"load: restart, {args.restart_concurrency} clients, {args.restart_seconds:.0f} s, database stopped "
                f"at {args.stop_at:.0f} s for {args.down:.0f} s ...",
                flush=True,
            )
            bouncer = threading.Thread(target=bounce)
            bouncer.start()
            client.wait(timeout=args.restart_seconds + 120)
            bouncer.join()
            result = json.loads(out_path.read_text())
    finally:
        server.stop()
    connections.close_all()
    reconciliation = harness.reconcile(plan, [result])
    if not args.keep:
        harness.cleanup(plan)
    window = harness.outage(result, events["stopped_at"], events["started_at"])
    print(table_line(f"restart, {args.restart_concurrency} clients", result["summary"]), flush=True)
    return {
        "target": "restart",
        "database": database,
        "data_dir": data_dir,
        "data_set": counts,
        "run": strip(result),
        "restart": {
            **window,
            "stop_took_s": events["stopped_in_s"],
            "start_took_s": events["started_at"] - events["starting_at"],
        },
        "reconciliation": reconciliation,
    }


def strip(result: dict) -> dict:
    return {key: value for key, value in result.items() if key not in ("timeline", "writes")}


def table_line(name: str, summary: dict) -> str:
    return (
        f"  {name:<26} {summary['rps']:8.1f} req/s  p50 {summary['p50_ms'] or 0:7.1f} ms  "
        f"p99 {summary['p99_ms'] or 0:7.1f} ms  errors {summary['errors']}/{summary['requests']}"
    )


def run_all(passthrough: list[str]) -> int:
    """Both targets, each in its own process (each sets Django up on its own database); one JSON at the end."""
    results = {}
    for target in ("steady", "restart"):
        completed = subprocess.run(
            [sys.executable, "-m", "bench.load", target, *passthrough], cwd=ROOT, capture_output=True, text=True
        )
        shown = [line for line in completed.stdout.splitlines() if not line.startswith("LOAD-RESULT ")]
        sys.stdout.write("".join(line + "\n" for line in shown))
        if completed.returncode not in (0, 1):
            sys.stderr.write(completed.stderr[-4000:])
        lines = [line for line in completed.stdout.splitlines() if line.startswith("LOAD-RESULT ")]
        results[target] = json.loads(lines[-1].removeprefix("LOAD-RESULT ")) if lines else {"failed": True}
    payload = {"measured_at": datetime.now(UTC).isoformat(), "machine": machine(), **results}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "load.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(report(payload))
    print(f"\nwritten: {path}")
    ok = all(result.get("reconciliation", {}).get("ok") for result in results.values())
    return 0 if ok and results.get("steady", {}).get("steady_errors", 1) == 0 else 1


def report(payload: dict) -> str:
    lines = ["", "load harness", ""]
    steady_result = payload.get("steady", {})
    for run in steady_result.get("runs", []):
        lines.append(table_line(f"steady, concurrency {run['concurrency']}", run["summary"]))
    if "reconciliation" in steady_result:
        lines.append(f"  steady writes reconciled: {json.dumps(steady_result['reconciliation'])}")
    restart_result = payload.get("restart", {})
    if "run" in restart_result:
        lines.append(table_line("restart run", restart_result["run"]["summary"]))
        lines.append(f"  restart: {json.dumps(restart_result['restart'])}")
        lines.append(f"  restart writes reconciled: {json.dumps(restart_result['reconciliation'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
