"""``manage.py worker`` (``make worker``): a Procrastinate worker, started again whenever it stops on its own.

Procrastinate's worker stops when its database connection breaks (a failover, a restart of PostgreSQL or
PgBouncer), and its maintainers leave restarting it to a process supervisor. This command is that supervisor,
so every way the project runs a worker (``make worker``, ``make run``, ``make cluster``, docker compose) has
one: it runs ``manage.py procrastinate worker`` with the arguments given after ``--`` and, when that worker
exits without having been asked to stop, logs it and starts a new one after a pause that doubles from 1 s up
to 30 s (back to 1 s once a worker has run for a minute). The jobs stay in PostgreSQL meanwhile: those queued
wait, and one the worker was running when it lost the database is retried by the stalled-job check. SIGTERM,
SIGINT and SIGHUP go on to the worker, which finishes its running job first, and end the command. With
``-- --one-shot`` the worker's own exit ends the command too (it was asked to run what is due once). On Linux, a
worker whose supervisor dies without passing a signal on (SIGKILL, the OOM killer) gets SIGTERM from the kernel
and stops in the same way, rather than running on orphaned beside the next supervisor's worker.
"""

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
# A worker that ran this long was working: the next restart pauses the first pause again.
SETTLED_SECONDS = 60.0
# prctl(2): the signal a process gets when the thread that started it exits; Linux only.
PR_SET_PDEATHSIG = 1


def stop_with_supervisor(supervisor_pid: int):
    """A ``preexec_fn`` asking the kernel to send the worker SIGTERM when its supervisor dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    # Looked up here, before the fork: the child between fork and exec should only call, not load.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def ask() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != supervisor_pid:  # the supervisor died before the request was made
            os._exit(1)

    return ask


class Command(BaseCommand):
    help = (
        "Run a Procrastinate job worker and start it again whenever it stops on its own (a lost database "
        "connection); arguments after -- go to `procrastinate worker`. SIGTERM stops it after its running job."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("worker_args", nargs="*", help="Arguments of `manage.py procrastinate worker`.")

    def handle(self, *args, worker_args, **options):
        stopping = []
        worker = None

        def forward(signum, frame):
            stopping.append(signum)
            if worker is not None and worker.poll() is None:
                worker.send_signal(signum)

        for signum in STOP_SIGNALS:
            signal.signal(signum, forward)
        pause = FIRST_PAUSE_SECONDS
        while True:
            started = time.monotonic()
            # A process group of its own: a signal sent to this command's group (a terminal's Ctrl-C, devserver's
            # stop) reaches the worker once, through ``forward``; a second one would end its running job at once.
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "procrastinate", "worker", *worker_args],
                cwd=settings.BASE_DIR,
                process_group=0,
                preexec_fn=stop_with_supervisor(os.getpid()),
            )
            if stopping:  # a stop signal that came while the worker was being started
                worker.send_signal(stopping[-1])
            code = worker.wait()
            if stopping or "--one-shot" in worker_args:  # asked to stop, or to run what is due once and stop
                sys.exit(max(code, 0))
            if time.monotonic() - started >= SETTLED_SECONDS:
                pause = FIRST_PAUSE_SECONDS
            logger.warning("The job worker stopped on its own (exit code %s); starting a new one in %s s", code, pause)
            deadline = time.monotonic() + pause
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            if stopping:
                sys.exit(0)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
