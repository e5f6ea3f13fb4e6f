"""``manage.py devserver`` (``make run``): migrate, seed, serve and run a job worker, and stop everything together.

``runserver`` alone cannot do this: SIGTERM to its autoreloader kills the serving child outright, so
the embedded PostgreSQL that child was holding stays running, orphaned. This command is the one
process that owns the run. It starts the embedded database (when no ``DATABASE_URL`` is set) once,
migrates and seeds, runs ``runserver`` (with its autoreloader) and a job worker (``manage.py worker``:
Procrastinate's, started again when it stops on its own; docs/JOBS.md) each in a process group of its own,
and on Ctrl-C, SIGTERM or SIGHUP, or when either child exits, stops both and then the database, if it was
this run that started it (a database someone else started stays up).
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, connections

from gateway.embedded import postmaster_running, stop_server

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long the children get to exit after the stop signal before they are killed.
GRACE_SECONDS = 10


class Command(BaseCommand):
    help = (
        "Migrate, load the development data set (only what is missing) and run the development server; "
        "Ctrl-C or SIGTERM stops the server and the embedded PostgreSQL this run started."
    )
    # runserver runs the system checks itself.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="Where to serve (host:port).")
        parser.add_argument("--no-seed", action="store_true", help="Do not load the development data set.")

    def handle(self, *args, addrport, no_seed, **options):
        embedded = connection.settings_dict["ENGINE"] == "gateway.db.embedded"
        started_database = embedded and not postmaster_running(settings.EMBEDDED_DATA_DIR)
        try:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            if not no_seed:
                call_command("seed", verbosity=options["verbosity"])
            connections.close_all()
            self.stdout.write(
                f"Admin: http://{addrport}/admin/  "
                f"(admin@geminivideo.ai / {os.environ.get('DEV_ADMIN_PASSWORD', 'admin')}). Ctrl-C stops everything."
            )
            return_code = self.serve(addrport)
        finally:
            connections.close_all()
            if started_database:
                stop_server(settings.EMBEDDED_DATA_DIR)
                self.stdout.write("Stopped the embedded PostgreSQL this run started.")
        if return_code:
            sys.exit(return_code)

    def serve(self, addrport: str) -> int:
        """Run the server and a worker until one exits or a stop signal arrives; the server's exit code."""
        # Process groups of their own: a terminal's Ctrl-C reaches only this process, which then stops each
        # group, so the autoreloader, the server it runs and the worker get exactly one signal each.
        children = [
            subprocess.Popen(command, cwd=settings.BASE_DIR, process_group=0)
            for command in (
                [sys.executable, "manage.py", "runserver", addrport],
                [sys.executable, "manage.py", "worker"],
            )
        ]
        server = children[0]
        stopping = []

        def forward(signum, frame):
            stopping.append(signum)
            for child in children:
                signal_group(child, signum)

        previous = {signum: signal.signal(signum, forward) for signum in STOP_SIGNALS}
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for child in children:
                if child.poll() is None and not stopping:
                    signal_group(child, signal.SIGTERM)
            # The autoreloader's child, the one serving, may outlive the autoreloader by a moment; the worker
            # finishes its running job first.
            deadline = time.monotonic() + GRACE_SECONDS
            while any(alive(child) for child in children) and time.monotonic() < deadline:
                time.sleep(0.1)
            for child in children:
                signal_group(child, signal.SIGKILL)
                child.wait()
        # A server stopped by a signal has a negative code: that is how a run ends, not a failure.
        return max(server.returncode, 0)


def alive(process: subprocess.Popen) -> bool:
    """Whether any process of the group ``process`` leads is left (the leader reaped once it exited)."""
    process.poll()
    return signal_group(process, 0)


def signal_group(process: subprocess.Popen, signum: int) -> bool:
    """Send ``signum`` to the process group ``process`` leads; whether any process of it was left."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        return False
    return True
