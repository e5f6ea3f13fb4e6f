"""Real Procrastinate workers for tests: ``manage.py procrastinate worker`` processes on the test database.

Tests that use them see the workers' writes only once committed, so they are ``transactional_db`` tests
and start from an empty queue (the ``empty_queue`` fixture of the root conftest). The timings are shortened
through the environment (``FAST_JOBS``): a retry after 1 s, a worker silent for 2 s is dead, the stalled-job
check every second.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection

from conftest import test_database_environment

FAST_JOBS = {
    "JOB_RETRY_BASE_SECONDS": "1",
    "JOB_HEARTBEAT_SECONDS": "0.5",
    "JOB_STALLED_WORKER_SECONDS": "2",
    "JOB_STALLED_CHECK_SECONDS": "1",
    # The experiments' periodic run (every 15 minutes) is made up only when due in the last 3 s.
    "JOB_PERIODIC_MAX_DELAY_SECONDS": "3",
    "JOB_SHUTDOWN_GRACE_SECONDS": "5",
}


def worker_environment(**overrides) -> dict:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))},
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        **test_database_environment(),
        **FAST_JOBS,
        **overrides,
    }


WORKER_COMMAND = [sys.executable, "manage.py", "procrastinate", "worker"]
# ``manage.py worker``: the worker under the project's supervisor, as make worker, make run and make cluster run it.
SUPERVISED_WORKER_COMMAND = [sys.executable, "manage.py", "worker"]


class Worker:
    """A worker process (``command``) in a session of its own, its output in ``log``."""

    def __init__(self, log, command=WORKER_COMMAND, **environment):
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=worker_environment(**environment),
                stdout=output, stderr=output, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: no chance to finish or give back its job, as a lost machine."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def run_worker_once(**environment) -> str:
    """A worker that runs every job due now and exits (``--one-shot``); what it printed."""
    finished = subprocess.run(
        [*WORKER_COMMAND, "--one-shot"], cwd=settings.BASE_DIR, env=worker_environment(**environment),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-4000:]
    return finished.stdout + finished.stderr


def wait_for(predicate, *, timeout: float = 30, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, message or f"not true within {timeout} s"
        time.sleep(0.1)


def job_row(job_id: int) -> dict:
    """Procrastinate's row of a job, read now (status, attempts)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, attempts FROM procrastinate_jobs WHERE id = %s", [job_id])
        status, attempts = cursor.fetchone()
    return {"status": status, "attempts": attempts}


def job_events(job_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT type FROM procrastinate_events WHERE job_id = %s ORDER BY id", [job_id])
        return [row[0] for row in cursor.fetchall()]
