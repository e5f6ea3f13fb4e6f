"""Every migration of ours can be reversed to zero and applied again on an empty database.

Procrastinate's migrations (its job tables and functions) cannot be reversed (the library writes them as
irreversible SQL); they are applied once and stay, and every other app goes to zero and back above them.

Runs ``manage.py`` in subprocesses against a fresh database created for the test on the same server
(``DATABASE_URL`` points at it), so the test database and the running test session are untouched.
The schema after the second forward pass must be exactly the schema after the first.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from gateway.backup import connection_params, create_database, drop_database, schema_sql

BASE_DIR = Path(settings.BASE_DIR)

pytestmark = pytest.mark.django_db

REPORT = """
import json
import django

django.setup()
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

with connection.cursor() as cursor:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    tables = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT extname FROM pg_extension ORDER BY 1")
    extensions = [row[0] for row in cursor.fetchall()]
applied = sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())
print(json.dumps({"tables": tables, "extensions": extensions, "applied": applied}))
"""

# Apps named on the command line, migrated to zero one after the other in one process.
TO_ZERO = """
import sys
import django

django.setup()
from django.core.management import call_command

for app in sys.argv[1:]:
    call_command("migrate", app, "zero", interactive=False, verbosity=0)
"""


def database_url(dbname: str) -> str:
    """A ``DATABASE_URL`` for ``dbname`` on the server the test database lives on (unix socket or TCP)."""
    params = connection_params(dbname=dbname)
    user = quote(params.get("user", ""), safe="")
    auth = f"{user}:{quote(params['password'], safe='')}@" if params.get("password") else f"{user}@"
    host, port = params.get("host", "localhost"), params.get("port", "5432")
    if host.startswith("/"):
        return f"postgres://{auth}/{dbname}?host={quote(host, safe='/')}&port={port}"
    return f"postgres://{auth}{host}:{port}/{dbname}"


# Apps whose migrations are irreversible by their authors.
IRREVERSIBLE_APPS = {"procrastinate"}


def apps_in_reverse_dependency_order() -> list[str]:
    """Apps with reversible migrations, each after every app that depends on it (``migrate <app> zero`` is clean)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    order = []
    for leaf in graph.leaf_nodes():
        for app, _ in graph.forwards_plan(leaf):
            if app not in order and app not in IRREVERSIBLE_APPS:
                order.append(app)
    return order[::-1]


@pytest.fixture
def empty_database():
    name = f"{connection.settings_dict['NAME']}_migrations_{secrets.token_hex(4)}"
    create_database(name)
    try:
        yield name
    finally:
        drop_database(name)


def run(dbname: str, *args: str) -> str:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")},
        "DJANGO_SETTINGS_MODULE": "gateway.settings_test",
        "DATABASE_URL": database_url(dbname),
        "DB_POOL": "false",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run([sys.executable, *args], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def state(dbname: str) -> dict:
    return json.loads(run(dbname, "-c", REPORT).strip().splitlines()[-1])


def test_every_migration_reverses_to_zero_and_applies_again(empty_database):
    manage = str(BASE_DIR / "manage.py")
    run(empty_database, manage, "migrate", "--no-input", "-v0")
    forward = state(empty_database)
    first_schema = schema_sql(dbname=empty_database)
    assert {"vector", "pg_trgm"} <= set(forward["extensions"])
    assert {"users", "assets", "clips", "campaigns", "knowledge_documents"} <= set(forward["tables"])

    run(empty_database, "-c", TO_ZERO, *apps_in_reverse_dependency_order())
    reversed_ = state(empty_database)
    assert {migration.split(".")[0] for migration in reversed_["applied"]} == IRREVERSIBLE_APPS
    assert [table for table in reversed_["tables"] if not table.startswith("procrastinate_")] == ["django_migrations"]
    assert reversed_["extensions"] == ["plpgsql"]

    run(empty_database, manage, "migrate", "--no-input", "-v0")
    assert state(empty_database) == forward
    assert schema_sql(dbname=empty_database) == first_schema
