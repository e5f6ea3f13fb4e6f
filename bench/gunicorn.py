"""Gunicorn benchmark: requests per second with threads and the connection pool, and without the pool.

Gunicorn serves the project on 127.0.0.1 (``WORKERS`` processes x ``THREADS`` threads, gunicorn.conf.py's
threaded worker) against
the bench database, once per configuration:

- ``pool``: psycopg's pool in each worker (``DB_POOL=true``, the default settings);
- ``no pool, new connection per request``: ``DB_POOL=false``, ``CONN_MAX_AGE=0``;
- ``no pool, persistent connections``: ``DB_POOL=false``, ``CONN_MAX_AGE=60`` (one connection per thread).

A separate process (``bench.load.client``, its fixed-paths workload) drives it with keep-alive connections
for a bounded time and request count, a USER's API key, and a mix of reads: the USER's clip list, an asset
detail and top clips.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import ROOT, Row, bench_environment, start_server

WORKERS = 2
THREADS = 4
CONCURRENCY = 16
PERSISTENT = "no pool, persistent connections"
CONFIGURATIONS = {
    "pool": {"DB_POOL": "true"},
    "no pool, new connection per request": {"DB_POOL": "false", "CONN_MAX_AGE": "0"},
    PERSISTENT: {"DB_POOL": "false", "CONN_MAX_AGE": "60"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_command(port: int, *, workers: int, threads: int, worker_class: str | None = None) -> list[str]:
    """The command line of gunicorn serving the project on ``port`` of 127.0.0.1.

    Without ``worker_class``, the worker is gunicorn.conf.py's (the project's threaded one, as ``make serve``).
    """
    chosen = ["--worker-class", worker_class] if worker_class else []
    return [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        "gateway.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        *chosen,
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]


def start(
    database: str,
    overrides: dict,
    *,
    workers: int,
    threads: int,
    worker_class: str | None = None,
    log: Path | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start gunicorn with ``overrides`` in its environment; wait until it answers; returns it and its URL.

    Its standard error (the app's log lines, one per request at INFO) goes to ``log`` or a temporary file.
    """
    port = free_port()
    env = {**bench_environment(database), **overrides, "DB_POOL_MAX_SIZE": str(max(threads, 4))}
    command = gunicorn_command(port, workers=workers, threads=threads, worker_class=worker_class)
    url = f"http://127.0.0.1:{port}"
    process = start_server(command, probe=f"{url}/health/live", name="gunicorn", stop=stop, log=log, cwd=ROOT, env=env)
    return process, url


def stop(process: subprocess.Popen) -> None:
    """Stop the gunicorn master this benchmark started (its workers follow it)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive(url: str, paths: list[str], key: str, *, seconds: float, warmup: float, concurrency: int) -> dict:
    """GET ``paths`` in turn from ``concurrency`` keep-alive clients in another process (``bench.load.client``)."""
    plan = {
        "port": urlsplit(url).port,
        "timeout": 30.0,
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup": warmup,
        "max_requests": int(seconds * 5000),
        "paths": paths,
        "key": key,
    }
    with tempfile.TemporaryDirectory() as folder:
        plan_path, out_path = Path(folder, "plan.json"), Path(folder, "result.json")
        plan_path.write_text(json.dumps(plan))
        command = [sys.executable, "-m", "bench.load.client", "--plan", str(plan_path), "--out", str(out_path)]
        subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + warmup + 120, check=True)
        result = json.loads(out_path.read_text())
    return {**result["summary"], "seconds": result["seconds"], "concurrency": concurrency}


def run(
    *,
    seconds: float = 10.0,
    warmup: float = 2.0,
    workers: int = WORKERS,
    threads: int = THREADS,
    concurrency: int = CONCURRENCY,
    verbose: bool = False,
) -> dict:
    from django.db import connection

    from bench.api import fixtures
    from users.models import ApiKey
    from users.services import api_key_issue

    rows = fixtures()
    _, key = api_key_issue(user=rows["user"], name="bench")
    paths = [
        "/api/v1/clips/?page_size=50",
        f"/api/v1/assets/{rows['asset'].pk}/",
        f"/api/v1/clips/top/?asset={rows['asset'].pk}&limit=10",
    ]
    database = connection.settings_dict["NAME"]
    measured = {}
    try:
        for name, overrides in CONFIGURATIONS.items():
            process, url = start(database, overrides, workers=workers, threads=threads)
            try:
                measured[name] = drive(url, paths, key, seconds=seconds, warmup=warmup, concurrency=concurrency)
            finally:
                stop(process)
            if verbose:
                print(f"gunicorn, {name}: {json.dumps(measured[name])}")
    finally:
        ApiKey.objects.filter(user=rows["user"], name="bench").delete()
    shape = f"{workers} workers x {threads} threads, {concurrency} clients"
    pool = measured["pool"]
    results = [
        Row(f"gunicorn, pool ({shape})", "req/s", pool["rps"], None, None, "reported", None, pool),
    ]
    for name in list(CONFIGURATIONS)[1:]:
        other = measured[name]
        if name == PERSISTENT:
            # Reported: one connection per thread kept open is as fast as the pool (nothing to check out),
            # but it is neither bounded nor shared, and it is not what "without a pool" means in Django.
            target, met = "reported", None
        else:
            target, met = "pooled faster", pool["rps"] > other["rps"] and not pool["errors"]
        results.append(Row(f"gunicorn, pool vs {name}", "req/s", pool["rps"], other["rps"], None, target, met, other))
    return {"rows": results, "extra": {"paths": paths, "configurations": measured}}
