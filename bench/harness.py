"""What every benchmark shares: the bench database, timing, same-run baselines, EXPLAIN, the table, the JSON.

Figures are medians over repeated runs and each is paired with a baseline measured in the same run
(interleaved with it, so that drift on a shared machine hits both alike): for reads, the very SQL the
request ran (captured with ``CaptureQueriesContext``) executed through a plain psycopg connection with
the rows encoded to JSON by orjson; for writes, PostgreSQL's COPY of the same rows. Targets are set
on the ratio of the two.
"""

import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_DATABASE = "gateway_bench"
# A plan node's name with its index and relation: "Index Scan Backward using media_clip_score_idx on clips".
PLAN_NODE = re.compile(r"(?:->\s*)?([A-Z][A-Za-z ]+?(?: using \S+)?(?: on \S+)?)\s+\(cost")


def bench_environment(database: str = BENCH_DATABASE, base: dict | None = None) -> dict:
    """The environment variables under which the project runs against the bench database, DEBUG off.

    Without ``DATABASE_URL`` the embedded server hosts a database named ``database`` next to the
    development one (``EMBEDDED_DATABASE``); with it, ``BENCH_DATABASE_URL`` when set, else the same
    URL naming ``database``. API throttling is lifted (a benchmark is a flood by design) and HTTPS
    redirects are off (requests are plain HTTP on 127.0.0.1).
    """
    env = dict(os.environ if base is None else base)
    if env.get("DATABASE_URL"):
        bench_url = env.get("BENCH_DATABASE_URL") if database == BENCH_DATABASE else None
        env["DATABASE_URL"] = bench_url or _with_database(env["DATABASE_URL"], database)
    else:
        env["EMBEDDED_DATABASE"] = database
    env["DEBUG"] = "false"
    env["LOG_SQL"] = "false"
    env.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(48))
    env["SECURE_SSL_REDIRECT"] = "false"
    env["SESSION_COOKIE_SECURE"] = "false"
    env["CSRF_COOKIE_SECURE"] = "false"
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    env["API_THROTTLE_RATE"] = "1000000/s"
    env["API_ANON_THROTTLE_RATE"] = "1000000/s"
    env.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    return env


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def setup_django(database: str = BENCH_DATABASE) -> None:
    """Point this process at the bench database (see ``bench_environment``) and set Django up."""
    os.environ.update(bench_environment(database))
    import django

    django.setup()


def server_params(connection) -> dict:
    """psycopg connection parameters of ``connection``'s server (starting the embedded one if need be)."""
    params = connection.get_connection_params()
    return {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}


def raw_connection(connection=None):
    """A plain psycopg connection (autocommit, no Django) to the database ``connection`` uses."""
    import psycopg
    from django.db import connection as default

    connection = connection or default
    return psycopg.connect(dbname=connection.settings_dict["NAME"], autocommit=True, **server_params(connection))


def start_server(
    command: list[str],
    *,
    probe: str,
    name: str,
    stop: Callable,
    log: Path | None = None,
    any_status: bool = False,
    **popen,
) -> subprocess.Popen:
    """Start a server process and wait (60 s at most) until ``probe``, a URL, answers 200 (any status: ``any_status``).

    Its standard error goes to ``log`` or to an unnamed temporary file, never to a pipe (nobody would read it, and
    once full it blocks the server), and is quoted if the process exits first; ``stop(process)`` ends one that
    never answers. ``popen``: Popen's other arguments (cwd, env...).
    """
    with log.open("ab+") if log else tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, **popen)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                stderr.seek(0)
                raise RuntimeError(f"{name} exited: {stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        return process
            except urllib.error.HTTPError:
                if any_status:
                    return process
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{name} did not answer within 60 s")


def timed(func: Callable) -> float:
    """Milliseconds ``func()`` takes."""
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def paired(figure: Callable, baseline: Callable, *, repeat: int, warmup: int = 2) -> tuple[list[float], list[float]]:
    """Time ``figure`` and ``baseline`` alternately ``repeat`` times each (after ``warmup`` untimed rounds)."""
    for _ in range(warmup):
        figure()
        baseline()
    figures, baselines = [], []
    for _ in range(repeat):
        figures.append(timed(figure))
        baselines.append(timed(baseline))
    return figures, baselines


def print_plans(plans: list[dict]) -> None:
    """Each query (its first 300 characters) and its EXPLAIN plan, indented under a case's line (``-v``)."""
    for plan in plans:
        print(f"  -- {plan['sql'][:300]}{'...' if len(plan['sql']) > 300 else ''}")
        for line in plan["plan"]:
            print(f"     {line}")


def median(values) -> float:
    return statistics.median(values) if values else 0.0


@dataclass
class Row:
    """One line of a benchmark's table.

    ``unit`` says how to read the figures: ``ms`` (lower is better; ``ratio`` = figure / baseline) or a
    rate such as ``rows/s`` or ``req/s`` (higher is better; ``ratio`` = figure / baseline, a share).
    ``target`` is the rule in words, ``met`` whether it holds (None: reported only).
    """

    name: str
    unit: str
    figure: float
    baseline: float | None = None
    queries: int | None = None
    target: str = ""
    met: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.figure / self.baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def format_table(title: str, rows: list[Row]) -> str:
    """The rows as a fixed-width table (the same layout docs/PERFORMANCE.md shows)."""
    header = f"{'benchmark':<58}{'figure':>15}{'baseline':>15}{'ratio':>8}{'queries':>8}  {'target':<26}result"
    lines = [title, header, "-" * len(header)]
    for row in rows:
        figure, baseline, ratio, queries = _cells(row)
        verdict = {True: "met", False: "MISSED", None: "-"}[row.met]
        lines.append(f"{row.name:<58}{figure:>15}{baseline:>15}{ratio:>8}{queries:>8}  {row.target:<26}{verdict}")
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| benchmark | figure | baseline | ratio | queries | target | result |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        figure, baseline, ratio, queries = _cells(row)
        verdict = {True: "met", False: "**missed**", None: "-"}[row.met]
        lines.append(
            f"| {row.name} | {figure} | {baseline} | {ratio} | {queries} | {row.target.replace('|', '/')} | {verdict} |"
        )
    return "\n".join(lines)


def _cells(row: Row) -> tuple[str, str, str, str]:
    """The figure, baseline, ratio and query count of ``row`` as both tables show them ("-" when unknown)."""
    baseline = _number(row.baseline, row.unit) if row.baseline is not None else "-"
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
    queries = str(row.queries) if row.queries is not None else "-"
    return _number(row.figure, row.unit), baseline, ratio, queries


def _number(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "recall":
        return f"{value:.3f}"
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_bytes": memory,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def server_version(connection=None) -> str:
    from django.db import connection as default

    with (connection or default).cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def write_results(name: str, rows: list[Row], *, extra: dict | None = None, directory: Path | None = None) -> Path:
    """Write ``bench/results/<name>.json``: the rows, the machine and whatever ``extra`` holds (plans...)."""
    from django.db import connection

    directory = directory or RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    payload = {
        "benchmark": name,
        "measured_at": datetime.now(UTC).isoformat(),
        "database": connection.settings_dict["NAME"],
        "postgresql": server_version(connection),
        "machine": machine(),
        "rows": [row.as_dict() for row in rows],
        **(extra or {}),
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def explain(sql: str, *, connection=None) -> dict:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of ``sql``: the plan text, the execution time and the nodes that matter.

    Run in a transaction that is rolled back, so it is safe on statements that write.
    """
    from django.db import connection as default
    from django.db import transaction

    connection = connection or default
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True, using=connection.alias)
    text = "\n".join(lines)
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    planning = re.search(r"Planning Time: ([\d.]+) ms", text)
    nodes = [node.strip() for node in re.findall(PLAN_NODE, text)]
    return {
        "plan": lines,
        "execution_ms": float(execution.group(1)) if execution else None,
        "planning_ms": float(planning.group(1)) if planning else None,
        "nodes": nodes,
        "sort": any(re.match(r"(Incremental )?Sort\b", node) for node in nodes),
        "seq_scan_on": sorted({node.split(" on ")[1] for node in nodes if node.startswith("Seq Scan on ")}),
        "index_scans": [node for node in nodes if "Index" in node and " using " in node],
    }
