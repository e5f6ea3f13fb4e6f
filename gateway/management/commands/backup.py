from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from gateway.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the database with pg_dump (custom format) using the server's own PostgreSQL programs. "
        "Restore it with `manage.py restore PATH`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="File to write (default: BACKUP_DIR/<database>-<UTC time>.dump).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: %(default)s).")

    def handle(self, *args, output=None, database=DEFAULT_DB_ALIAS, **options):
        try:
            path = backup(output, alias=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Backed up to {path} ({path.stat().st_size:,} bytes)."))
