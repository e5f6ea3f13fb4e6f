"""``manage.py stopdb`` (``make stop``): stop the embedded PostgreSQL of this checkout if one is running."""

from django.conf import settings
from django.core.management.base import BaseCommand

from gateway.embedded import stop_running_server


class Command(BaseCommand):
    help = "Stop the embedded PostgreSQL running on EMBEDDED_DATA_DIR (e.g. one a killed `make run` left behind)."
    # Stopping the database must not need it: no system checks, no connection.
    requires_system_checks = []

    def handle(self, *args, **options):
        data_dir = settings.EMBEDDED_DATA_DIR
        if stop_running_server(data_dir):
            self.stdout.write(f"Stopped the embedded PostgreSQL in {data_dir}.")
        else:
            self.stdout.write(f"No embedded PostgreSQL is running in {data_dir}.")
