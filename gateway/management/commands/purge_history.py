"""``manage.py purge_history``: delete the history past its retention now (a job does it every day)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gateway.history import events_purge


class Command(BaseCommand):
    help = (
        "Delete the history events older than HISTORY_RETENTION_DAYS (or --days), each row keeping its last "
        "older event. The periodic job gateway.tasks.purge_history_events does the same every day while a "
        "worker runs and HISTORY_RETENTION_DAYS is set."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=settings.HISTORY_RETENTION_DAYS,
            help="Keep this many days of history (default: HISTORY_RETENTION_DAYS).",
        )  # fmt: skip

    def handle(self, *args, days, **options):
        if days <= 0:
            raise CommandError("No retention: set HISTORY_RETENTION_DAYS or pass --days N (N >= 1).")
        deleted = events_purge(older_than=timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} history event{'s' if deleted != 1 else ''} older than {days} days.")
