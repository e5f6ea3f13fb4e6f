"""``manage.py cluster start|stop|status|failover``: ``make cluster``, ``make cluster-stop``, ``make cluster-failover``.

The scaled-out topology of docs/SCALING.md on this machine, from the project's files and the embedded
PostgreSQL's programs: a primary and a streaming replica, PgBouncer, Redis (unless one runs on 127.0.0.1:6379),
two app servers, HAProxy and a job worker (``gateway.cluster.Topology``). ``start`` returns once everything
answers and prints what runs where; ``stop`` stops exactly what ``start`` recorded in the run folder.
"""

import json
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gateway.cluster import REPLICA_NAME, Topology


class Command(BaseCommand):
    help = "Start, stop, inspect or fail over the local scaled-out topology (docs/SCALING.md)."
    # It starts and stops servers; it never connects to the project's own database.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("start", "stop", "status", "failover"))
        parser.add_argument(
            "--folder", default=str(settings.BASE_DIR / ".data" / "cluster"), help="Run folder (default .data/cluster)."
        )
        parser.add_argument("--port", type=int, default=8100, help="HAProxy's port on 127.0.0.1 (default 8100).")
        parser.add_argument("--app-servers", type=int, default=2, help="gunicorn servers behind HAProxy (default 2).")
        parser.add_argument(
            "--synchronous-standby-names",
            default=REPLICA_NAME,
            help=(
                f"The primary's synchronous_standby_names (default {REPLICA_NAME}, the replica: a COMMIT returns once "
                "the replica has flushed it, so a failover loses no acknowledged write; '' for asynchronous)."
            ),
        )
        parser.add_argument("--no-worker", action="store_true", help="Start no job worker.")

    def handle(self, *args, action, folder, **options):
        topology = Topology(folder)
        if action == "start":
            self.start(topology, options)
        elif action == "stop":
            stopped = topology.stop()
            self.stdout.write(f"Stopped: {', '.join(stopped)}." if stopped else f"Nothing was running from {folder}.")
        elif action == "status":
            if not topology.state:
                raise CommandError(f"No topology was started from {folder}.")
            self.print_status(topology)
        else:
            if not topology.running or "replica" not in topology.state.get("postgres", {}):
                raise CommandError("failover needs a running topology with a replica (make cluster)")
            report = topology.failover()
            self.stdout.write(json.dumps(report, indent=2))
            if report["synchronous"]:
                self.stdout.write(
                    "Synchronous replication: no acknowledged write lost "
                    f"({report['commits_not_replicated']} commit(s) the replica never received were never "
                    "acknowledged: their COMMIT was waiting for it)."
                )
            else:
                self.stdout.write(
                    f"Asynchronous replication: {report['commits_not_replicated']} commit(s) the old primary wrote "
                    "after the last WAL the replica received are lost; each may have been acknowledged to a client "
                    "(a COMMIT returns before the replica has it)."
                )
            self.stdout.write(
                f"PgBouncer now points at the promoted replica ({report['new_primary']}); it has no replica of its "
                f"own: `make cluster-stop && make cluster` starts a fresh topology."
            )

    def start(self, topology: Topology, options: dict) -> None:
        try:
            topology.start(
                port=options["port"],
                app_servers=options["app_servers"],
                synchronous_standby_names=options["synchronous_standby_names"],
                worker=not options["no_worker"],
                redis_url=os.environ.get("REDIS_URL") or None,
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        self.print_status(topology)
        state = topology.state
        mode = (
            f"synchronous ({state['synchronous_standby_names']})"
            if state["synchronous_standby_names"]
            else "asynchronous"
        )
        self.stdout.write(
            f"\nServing on {state['haproxy']['url']}/ (admin: /admin/, API keys of the development data set, "
            f"HAProxy's page: {state['haproxy']['stats_url']}). Replication: {mode}.\n"
            f"Run folder: {topology.folder} (state.json, run/*.pid, logs/). "
            "`make cluster-stop` stops it; `make cluster-failover` runs the failover drill."
        )

    def print_status(self, topology: Topology) -> None:
        for name, part in topology.status().items():
            where = part.get("data") or ""
            state = ("up" if part["up"] else "DOWN") + (f" ({part['role']})" if part.get("role") else "")
            self.stdout.write(f"{name:<18} {state:<14} {part['address'] or '':<32} log {part['log']}  {where}")
