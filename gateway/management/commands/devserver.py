"""``manage.py devserver`` (``make run``): migrate, seed and serve, and stop everything together.

``runserver`` alone cannot do this: SIGTERM to its autoreloader kills the serving child outright, so
the embedded PostgreSQL that child was holding stays running, orphaned. This command is the one
process that owns the run. It starts the embedded database (when no ``DATABASE_URL`` is set) once,
migrates and seeds, runs ``runserver`` (with its autoreloader) in a process group of its own, and on
Ctrl-C, SIGTERM or SIGHUP, or when the server exits, stops the server and then the database, if it
was this run that started it (a database someone else started stays up).
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
        """Run the server until it exits or a stop signal arrives; its exit code."""
        # A process group of its own: a terminal's Ctrl-C reaches only this process, which then stops the
        # group, so the autoreloader and the server it runs get exactly one signal each.
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", addrport], cwd=settings.BASE_DIR, process_group=0
        )

        def forward(signum, frame):
            signal_group(server, signum)

        previous = {signum: signal.signal(signum, forward) for signum in STOP_SIGNALS}
        try:
            server.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if server.poll() is None:
                signal_group(server, signal.SIGTERM)
            # The autoreloader's child, the one serving, may outlive the autoreloader by a moment.
            deadline = time.monotonic() + GRACE_SECONDS
            while signal_group(server, 0) and time.monotonic() < deadline:
                time.sleep(0.1)
            signal_group(server, signal.SIGKILL)
            server.wait()
        # A server stopped by a signal has a negative code: that is how a run ends, not a failure.
        return max(server.returncode, 0)


def signal_group(process: subprocess.Popen, signum: int) -> bool:
    """Send ``signum`` to the process group ``process`` leads; whether any process of it was left."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        return False
    return True
