"""Schemathesis against the live server (``make fuzz``): the CLI, every default check, every phase, zero failures.

``python -m fuzz`` builds a scratch database on the same PostgreSQL the project uses (the embedded
server, or ``DATABASE_URL``'s with another database name), migrated, with an ADMIN and a USER with known API
keys and one row of every resource the USER owns. For each mode, key and seed it copies that database afresh
(``CREATE DATABASE ... TEMPLATE``), starts the server on a free port of 127.0.0.1 and runs ``st run`` on
the schema the server serves:

- modes: ``serve`` is ``make serve``'s (gunicorn, ``DEBUG`` off); ``run`` is ``make run``'s (Django's
  development server, ``DEBUG`` on);
- keys: the ADMIN's and the USER's, each sent in both headers the API reads (``X-API-Key: <key>`` and
  ``Authorization: Api-Key <key>``);
- every default check, the phases examples, coverage, fuzzing and stateful, ``--max-examples`` per operation
  (30 unless told), seeds 1, 2 and 3 unless told.

The API rate limit is raised as the benchmarks raise it (``API_THROTTLE_RATE``: throttling runs, it never
refuses), so the run does not turn into 429s. The one thing kept from the fuzzer is locking itself out:
``gateway/fuzz_hooks.py`` points a revoke (``POST .../revoke/`` or ``DELETE``) of the key it fuzzes with at a
spare key of the same user, and a write to its own user's row under ``/users/{id}/`` (a delete, a
deactivation, a change of role) at a spare user of the same role, so every later request is not a 401.
The exit status is 0 only when every run reports zero failures and zero errors; the last line of each
run's output is Schemathesis's summary.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from bench.harness import bench_environment

ROOT = Path(__file__).resolve().parent.parent
# Scratch databases of this process (two runs at once do not share them), dropped at the end.
TEMPLATE_DATABASE = f"gateway_fuzz_template_{os.getpid()}"
DATABASE = f"gateway_fuzz_{os.getpid()}"
MODES = ("serve", "run")
# Fixed keys of the scratch database (nowhere else): the fuzzing key of each run, and a spare key of each user.
KEYS = {
    "admin": "gv_fuzzliveadmin_7c1e9a3f5b2d4e6a8c0b1d3f5e7a9c2b",
    "user": "gv_fuzzliveuser0_2b4d6f8a0c1e3b5d7f9a1c3e5b7d9f0a",
}
SPARE_KEYS = {
    "admin": "gv_fuzzsparadmin_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    "user": "gv_fuzzsparuser0_4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f",
}
# Row ids of the scratch database: the users, their fuzzing and spare keys, and the USER's rows.
IDS = {
    "admin": uuid.UUID("f0220000-0000-4000-8000-000000000001"),
    "user": uuid.UUID("f0220000-0000-4000-8000-000000000002"),
    "admin-key": uuid.UUID("f0220000-0000-4000-8000-000000000011"),
    "user-key": uuid.UUID("f0220000-0000-4000-8000-000000000012"),
    "admin-spare-key": uuid.UUID("f0220000-0000-4000-8000-000000000021"),
    "user-spare-key": uuid.UUID("f0220000-0000-4000-8000-000000000022"),
    "admin-spare": uuid.UUID("f0220000-0000-4000-8000-000000000003"),
    "user-spare": uuid.UUID("f0220000-0000-4000-8000-000000000004"),
    "asset": uuid.UUID("f0220000-0000-4000-8000-000000000031"),
    "clip": uuid.UUID("f0220000-0000-4000-8000-000000000032"),
    "campaign": uuid.UUID("f0220000-0000-4000-8000-000000000033"),
}
# The rows positive cases name in their references (``gateway/fuzz_hooks.py``), by field name: the USER's.
REFERENCES = {
    "user": IDS["user"],
    "asset": IDS["asset"],
    "clip": IDS["clip"],
    "campaign": IDS["campaign"],
    "attributed_clip": IDS["clip"],
}
# Schemathesis's own settings for these runs: no cache of earlier failures (each run is its seed's alone).
CONFIG = "[cache]\nenabled = false\n"


def environment(database: str, mode: str = "serve") -> dict:
    """The environment the server (and this process, for ``database``) runs under: the benchmarks' (DEBUG off,
    HTTPS redirects off, the rate limit raised so a fuzzer's flood is never a 429), DEBUG on for ``run``."""
    env = bench_environment(database)
    env["DEBUG"] = "true" if mode == "run" else "false"
    env["LOG_LEVEL"] = "WARNING"
    env["DJANGO_SETTINGS_MODULE"] = "gateway.settings"
    return env


def admin_connection():
    """An autocommit psycopg connection to the server's ``postgres`` database (to create and drop databases)."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params = {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}
    return psycopg.connect(dbname="postgres", autocommit=True, **params)


def recreate(name: str, *, template: str | None = None) -> None:
    from psycopg import sql

    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)


def drop_databases() -> None:
    from psycopg import sql

    close_connections()
    with admin_connection() as conn:
        for name in (DATABASE, TEMPLATE_DATABASE):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def build_template() -> None:
    """Migrate the template database and give it the users, their keys and the USER's rows."""
    os.environ.update(environment(TEMPLATE_DATABASE))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    recreate(TEMPLATE_DATABASE)
    connections.close_all()
    call_command("migrate", interactive=False, verbosity=0)

    from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
    from knowledge.factories import KnowledgeDocumentFactory
    from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
    from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

    admin = AdminUserFactory(id=IDS["admin"], email="fuzz-admin@example.com")
    owner = UserFactory(id=IDS["user"], email="fuzz-user@example.com")
    # What the fuzzer writes instead of its own user's row (gateway/fuzz_hooks.py), one of each role.
    AdminUserFactory(id=IDS["admin-spare"], email="fuzz-admin-spare@example.com")
    UserFactory(id=IDS["user-spare"], email="fuzz-user-spare@example.com")
    for name, user in (("admin", admin), ("user", owner)):
        ApiKeyFactory(user=user, id=IDS[f"{name}-key"], name="fuzz", secret=KEYS[name])
        ApiKeyFactory(user=user, id=IDS[f"{name}-spare-key"], name="fuzz spare", secret=SPARE_KEYS[name])
    asset = AssetFactory(user=owner, id=IDS["asset"])
    clip = ClipFactory(asset=asset, id=IDS["clip"])
    PredictionFactory(clip=clip)
    PerformanceMetricFactory(asset=asset)
    campaign = CampaignFactory(user=owner, id=IDS["campaign"])
    ExperimentFactory(campaign=campaign)
    ConversionFactory(campaign=campaign)
    KnowledgeDocumentFactory()
    close_connections()


def close_connections() -> None:
    """Close every connection of this process, pooled ones too (a template database must have none)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(mode: str, port: int) -> list[str]:
    """``make serve``'s gunicorn, or ``make run``'s development server (without its autoreloader)."""
    if mode == "serve":
        workers, threads = os.environ.get("WEB_CONCURRENCY", "2"), os.environ.get("GUNICORN_THREADS", "4")
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        bind = f"127.0.0.1:{port}"
        return [gunicorn, "gateway.wsgi", "--bind", bind, "--workers", workers, "--threads", threads, "--timeout", "60"]
    return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]


def start_server(mode: str, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = environment(DATABASE, mode)
    if mode == "serve":
        metrics = ROOT / ".data" / "prometheus-fuzz"
        subprocess.run(["rm", "-rf", str(metrics)], check=True)
        metrics.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    process = subprocess.Popen(
        server_command(mode, port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {mode} server exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise RuntimeError(f"the {mode} server did not answer within 90 s")


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server this run started (its process group: gunicorn's workers follow their master)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def st_command(url: str, key: str, *, seed: int, max_examples: int, phases: str, out: Path) -> list[str]:
    config = out / "schemathesis.toml"
    config.write_text(CONFIG)
    return [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{url}/api/schema/?format=json",
        "--url",
        url,
        "--header",
        f"X-API-Key: {key}",
        "--header",
        f"Authorization: Api-Key {key}",
        "--checks",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--workers",
        "1",
        "--no-color",
    ]


def run_one(mode: str, key: str, seed: int, *, max_examples: int, phases: str, out: Path) -> int:
    """One fuzzing run on a fresh copy of the template; Schemathesis's exit status."""
    close_connections()
    recreate(DATABASE, template=TEMPLATE_DATABASE)
    name = f"{mode}-{key}-seed{seed}"
    filtered = out / f"{name}.filtered"
    filtered.unlink(missing_ok=True)
    with open(out / f"{name}.server.log", "w") as log:
        process, url = start_server(mode, log)
        try:
            env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": "gateway.fuzz_hooks",
                "FUZZ_KEY_ID": str(IDS[f"{key}-key"]),
                "FUZZ_SPARE_KEY_ID": str(IDS[f"{key}-spare-key"]),
                "FUZZ_USER_ID": str(IDS[key]),
                "FUZZ_SPARE_USER_ID": str(IDS[f"{key}-spare"]),
                "FUZZ_FILTER_LOG": str(filtered),
                "FUZZ_REFERENCES": json.dumps({name: str(row_id) for name, row_id in REFERENCES.items()}),
                "PYTHONPATH": str(ROOT),
            }
            command = st_command(url, KEYS[key], seed=seed, max_examples=max_examples, phases=phases, out=out)
            with open(out / f"{name}.txt", "w") as output:
                result = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        finally:
            stop_server(process)
    summary = (out / f"{name}.txt").read_text().strip().splitlines()
    print(f"{name}: exit {result.returncode}: {summary[-1] if summary else ''}", flush=True)
    tally = Counter(filtered.read_text().splitlines()) if filtered.exists() else Counter()
    for reason, count in tally.most_common():
        print(f"    let through ({count}): {reason}", flush=True)
    return result.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default=",".join(MODES), help="serve, run or both (comma-separated)")
    parser.add_argument("--keys", default="admin,user", help="admin, user or both (comma-separated)")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--max-examples", type=int, default=30, help="examples per operation and phase")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--out", default=str(ROOT / ".data" / "fuzz"), help="where each run's output goes")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # SIGTERM (a timeout, CI) unwinds like Ctrl-C: the server this run started (a process group of its own)
    # is stopped and the scratch databases dropped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    failed = []
    try:
        build_template()
        # Seed by seed, so a run cut short has covered every mode and key at least once.
        for seed in map(int, args.seeds.split(",")):
            for mode in args.modes.split(","):
                for key in args.keys.split(","):
                    code = run_one(mode, key, seed, max_examples=args.max_examples, phases=args.phases, out=out)
                    if code:
                        failed.append(f"{mode}-{key}-seed{seed}")
    finally:
        drop_databases()
    print(f"failed runs: {', '.join(failed)}" if failed else "every run: zero failures", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
