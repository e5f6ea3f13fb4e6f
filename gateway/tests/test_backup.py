"""``manage.py backup`` and ``manage.py restore``: a round trip keeps every row of every table.

Tables are compared by row count and an md5 of all their rows (each row as text, in a fixed order),
and sequences by their position, so any lost, added or changed row or value shows.
"""

import secrets

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from campaigns.factories import ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion
from gateway.backup import connection_params, drop_database
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import ClipFactory, PerformanceMetricFactory, PredictionFactory
from users.factories import AdminUserFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN_TABLES = {
    "users",
    "api_keys",
    "assets",
    "clips",
    "predictions",
    "performance_metrics",
    "campaigns",
    "experiments",
    "conversions",
    "knowledge_documents",
}


def fingerprint(conn) -> dict[str, tuple]:
    """Per table: (row count, md5 of every row); per sequence: (last value, is_called)."""
    tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    result = {}
    for table in tables:
        query = (
            f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" AS t"
        )
        result[table] = tuple(conn.execute(query).fetchone())
    for (sequence,) in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").fetchall():
        result[f"sequence {sequence}"] = tuple(
            conn.execute(f'SELECT last_value, is_called FROM "{sequence}"').fetchone()
        )
    return result


def fingerprint_of(dbname: str | None = None) -> dict[str, tuple]:
    with psycopg.connect(autocommit=True, **connection_params(dbname=dbname)) as conn:
        return fingerprint(conn)


@pytest.fixture
def data():
    """At least one row in every domain table, soft-deleted rows and a vector embedding included."""
    ApiKeyFactory(user=AdminUserFactory())
    PredictionFactory()
    ClipFactory().soft_delete()
    PerformanceMetricFactory()
    ExperimentFactory()
    ConversionFactory()
    KnowledgeDocumentFactory(embedding=[0.25] * 1536)
    Campaign.objects.first().soft_delete()


@pytest.fixture
def scratch_database():
    name = f"{connection.settings_dict['NAME']}_restore_{secrets.token_hex(4)}"
    yield name
    drop_database(name)


@pytest.mark.usefixtures("data")
def test_a_backup_restored_into_an_empty_database_has_every_row(tmp_path, scratch_database):
    dump = tmp_path / "gateway.dump"
    call_command("backup", output=str(dump))
    assert dump.stat().st_size > 0

    call_command("restore", str(dump), database_name=scratch_database)

    original, restored = fingerprint_of(), fingerprint_of(scratch_database)
    assert {table for table, (count, _) in original.items() if table in DOMAIN_TABLES and count} == DOMAIN_TABLES
    assert restored == original


@pytest.mark.usefixtures("data")
def test_restore_puts_back_deleted_and_changed_rows(tmp_path):
    dump = tmp_path / "gateway.dump"
    call_command("backup", output=str(dump))
    before = fingerprint_of()

    Conversion.objects.all().delete()
    Campaign.all_objects.update(name="changed after the backup")
    AdminUserFactory()
    assert fingerprint_of() != before

    call_command("restore", str(dump), force=True)
    assert fingerprint_of() == before


def test_restore_refuses_to_replace_data_with_debug_off_unless_forced(tmp_path):
    dump = tmp_path / "gateway.dump"
    call_command("backup", output=str(dump))
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(dump))


def test_restore_of_a_missing_file_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "missing.dump"), force=True)


def test_backup_writes_to_the_backup_folder_by_default(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path
    call_command("backup")
    dumps = list(tmp_path.glob(f"{connection.settings_dict['NAME']}-*.dump"))
    assert len(dumps) == 1
    assert not list(tmp_path.glob("*.partial"))


def test_a_failed_backup_leaves_no_file(settings, tmp_path):
    settings.PG_BIN_DIR = str(tmp_path / "no-such-folder")
    with pytest.raises((CommandError, OSError)):
        call_command("backup", output=str(tmp_path / "gateway.dump"))
    assert list(tmp_path.iterdir()) == []
