"""System checks of the gateway's own rules: deployment (``manage.py check --deploy``) and the database options."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder

W001_MESSAGE = "REDIS_URL is not set: throttling and the cache are per process."


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs) -> list[Warning]:
    """Production without ``REDIS_URL``: each process counts throttling in its own local-memory cache.

    A limit of 10 requests a minute then lets through 10 per gunicorn worker, and a cached value differs
    from one process to the next.
    """
    if settings.DEBUG or getattr(settings, "REDIS_URL", ""):
        return []
    return [
        Warning(
            W001_MESSAGE,
            hint="Set REDIS_URL (e.g. redis://host:6379/0) so that every process shares the throttle counts and "
            "the cache.",
            id="gateway.W001",
        )
    ]


E002_MESSAGE = "The database option server_side_binding is on: the history of changes cannot name who made them."


@register(Tags.database)
def check_client_side_binding(app_configs, **kwargs) -> list[Error]:
    """The history's context (gateway/history.py) goes in the same query string as each write, with parameters.

    psycopg 3 runs two statements in one string only with client-side binding, Django's default; with
    ``server_side_binding`` every write inside a request, job or command would fail.
    """
    return [
        Error(
            E002_MESSAGE,
            hint=f"Remove server_side_binding from the OPTIONS of the database {alias!r} (docs/HISTORY.md).",
            id="gateway.E002",
        )
        for alias in server_side_bound(settings.DATABASES)
    ]


def server_side_bound(databases: dict) -> list[str]:
    """The aliases of ``databases`` (the ``DATABASES`` setting) with psycopg's server-side binding on."""
    return [alias for alias, database in databases.items() if database.get("OPTIONS", {}).get("server_side_binding")]


W003_MESSAGE = "The database has no default for pgtrigger.ignore: history triggers slow bulk writes down."
# The migration that sets it (gateway/migrations/0005_pgtrigger_ignore_default.py says why it matters).
IGNORE_DEFAULT_MIGRATION = ("gateway", "0005_pgtrigger_ignore_default")


@register(Tags.database)
def check_pgtrigger_ignore_default(app_configs, databases=None, **kwargs) -> list[Warning]:
    """Migrated, but the database has no ``pgtrigger.ignore`` default: the migration's role did not own it, or the
    data was restored into a database created since. Run with ``manage.py check --database default`` and by
    ``migrate``."""
    warnings = []
    for alias in databases or ():
        connection = connections[alias]
        try:
            if IGNORE_DEFAULT_MIGRATION not in MigrationRecorder(connection).applied_migrations():
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
                    " WHERE d.datname = current_database() AND s.setrole = 0"
                    " AND 'pgtrigger.ignore={}' = ANY (s.setconfig))"
                )
                (has_default,) = cursor.fetchone()
        except DatabaseError:
            continue  # unreachable: the health checks and the request that needs it say so
        if not has_default:
            warnings.append(
                Warning(
                    W003_MESSAGE,
                    hint=f'As the database\'s owner: ALTER DATABASE "{connection.settings_dict["NAME"]}" SET '
                    "pgtrigger.ignore = '{}' (docs/HISTORY.md, Cost).",
                    id="gateway.W003",
                )
            )
    return warnings
