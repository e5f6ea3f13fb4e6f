"""The former stack, set up as its README says: a scratch copy, its own database, Prisma's client, its servers.

The copy lives outside the project (``/tmp/prisma-peer`` by default: node_modules is large) and is reused when it
has its node_modules; its sources are refreshed from ``../shared/peers/prisma`` on every run, and our write
server (``bench/peer/writes.ts``) is copied next to them. Its database, ``prisma_peer``, is on the project's
PostgreSQL server (the embedded one unless ``DATABASE_URL`` says otherwise); its tables come from the folder's
``schema.sql`` (Prisma's schema engine cannot be downloaded here), its client from ``prisma generate``.
"""

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote

from bench import harness
from bench.harness import ROOT, server_params

PEER_SOURCE = ROOT.parent / "shared" / "peers" / "prisma"
SCRATCH = Path("/tmp/prisma-peer")
DATABASE = "prisma_peer"
WRITES = Path(__file__).resolve().parent / "writes.ts"
SOURCES = (
    "bench.ts",
    "server.ts",
    "schema.sql",
    "schema.prisma",
    "prisma.config.ts",
    "package.json",
    "package-lock.json",
)
SOURCES += ("fake-schema-engine",)


def missing_tools(*, http: bool) -> list[str]:
    """What to install for the run, one line each (empty when everything is there)."""
    missing = []
    if not (shutil.which("node") and shutil.which("npm")):
        missing.append("Node.js 20 or later with npm (Debian: apt-get install nodejs npm)")
    if http and not shutil.which("wrk"):
        missing.append("wrk, the HTTP load generator (Debian: apt-get install wrk)")
    return missing


def database_url(connection, database: str = DATABASE) -> str:
    """A PostgreSQL URL for Node's ``pg`` naming ``database`` on the server ``connection`` uses."""
    params = server_params(connection)
    credentials = quote(params.get("user", "postgres"), safe="")
    if params.get("password"):
        credentials += ":" + quote(str(params["password"]), safe="")
    host = params.get("host", "localhost")
    port = params.get("port", 5432)
    if host.startswith("/"):  # a unix socket directory goes in the query string
        return f"postgresql://{credentials}@localhost:{port}/{database}?host={quote(host, safe='/')}"
    return f"postgresql://{credentials}@{host}:{port}/{database}"


def prepare_database(connection, database: str = DATABASE):
    """Create ``database`` on the server if need be and (re)create its tables from schema.sql; a psycopg connection."""
    import psycopg
    from psycopg import sql

    params = server_params(connection)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    peer = psycopg.connect(dbname=database, autocommit=True, **params)
    peer.execute((PEER_SOURCE / "schema.sql").read_text())
    return peer


def prepare_scratch(scratch: Path, url: str, *, verbose: bool = False) -> Path:
    """The scratch copy, installed (``npm ci`` only when node_modules is missing) with Prisma's client generated."""
    scratch.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        _refresh(PEER_SOURCE / name, scratch / name)
    _refresh(WRITES, scratch / WRITES.name)
    env = node_environment(url)
    if not (scratch / "node_modules").is_dir():
        print(f"peer: npm ci in {scratch} (once)", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=scratch, env=env, check=True)
    schema = (scratch / "schema.prisma").stat().st_mtime
    client = scratch / "generated" / "prisma" / "client.ts"
    if not client.exists() or client.stat().st_mtime < schema:
        subprocess.run(
            [str(scratch / "node_modules" / ".bin" / "prisma"), "generate"],
            cwd=scratch,
            env={**env, "PRISMA_SCHEMA_ENGINE_BINARY": "./fake-schema-engine"},
            check=True,
            capture_output=not verbose,
        )
    return scratch


def _refresh(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` unless they are already the same (the copies may be read-only)."""
    if target.exists() and target.read_bytes() == source.read_bytes():
        return
    target.unlink(missing_ok=True)
    shutil.copy2(source, target)


def node_environment(url: str, **extra) -> dict:
    """The environment of the former stack's processes: ours without ``LOG_SQL`` (the project's, which would turn
    on bench.ts's one-call mode), its database URL and ``extra``."""
    env = {key: value for key, value in os.environ.items() if key != "LOG_SQL"}
    return {**env, "DATABASE_URL": url, **{key: str(value) for key, value in extra.items()}}


def tsx(scratch: Path, script: str) -> list[str]:
    return [str(scratch / "node_modules" / ".bin" / "tsx"), script]


def start_server(scratch: Path, script: str, url: str, *, port: int, workers: int) -> subprocess.Popen:
    """Start ``script`` (server.ts or writes.ts) on ``port`` in a process group of its own; wait until it answers."""
    return harness.start_server(
        tsx(scratch, script),
        probe=f"http://127.0.0.1:{port}/",
        name=script,
        stop=stop_server,
        any_status=True,  # 401 without a key: it answers
        cwd=scratch,
        env=node_environment(url, PORT=port, WORKERS=workers),
        start_new_session=True,
    )


def stop_server(process: subprocess.Popen) -> None:
    """Stop a server ``start_server`` started: its process group (tsx, node and the cluster's workers)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers left behind by a primary that died
