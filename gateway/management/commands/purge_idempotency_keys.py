"""``manage.py purge_idempotency_keys``: delete the expired idempotency keys now (a job does it every hour)."""

from django.core.management.base import BaseCommand

from gateway.services import idempotency_keys_purge


class Command(BaseCommand):
    help = (
        "Delete the Idempotency-Key answers kept past their 24 hours. The periodic job "
        "gateway.tasks.purge_idempotency_keys does the same every hour while a worker runs."
    )

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(f"Deleted {deleted} expired idempotency key{'s' if deleted != 1 else ''}.")
