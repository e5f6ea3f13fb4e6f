from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from gateway.backup import BackupError, create_database, database_exists, restore


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` file with pg_restore: objects in the backup are dropped and recreated, "
        "all in one transaction. Replaces the data of the configured database: with DEBUG off it needs --force. "
        "--database-name restores into another database on the same server instead (created if missing), "
        "e.g. to check a backup without touching the live data."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A file written by `manage.py backup`.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: %(default)s).")
        parser.add_argument(
            "--database-name", help="Restore into this database on the same server instead (created if missing)."
        )
        parser.add_argument("--force", action="store_true", help="Allow replacing existing data when DEBUG is off.")

    def handle(self, *args, path, database=DEFAULT_DB_ALIAS, database_name=None, force=False, **options):
        target = database_name or connections[database].settings_dict["NAME"]
        try:
            created = bool(database_name) and not database_exists(database_name, alias=database)
            if not settings.DEBUG and not force and not created:
                raise CommandError(
                    f"Restoring replaces the data in database {target!r}. DEBUG is off: add --force to do it."
                )
            if created:
                create_database(database_name, alias=database)
            restored = restore(path, alias=database, dbname=database_name)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if not database_name:
            # A connection opened before the restore may hold stale state; the next use reconnects.
            connections[database].close()
        self.stdout.write(self.style.SUCCESS(f"Restored {path} into database {restored!r}."))
