"""The database's default for ``pgtrigger.ignore``: an empty list, so no trigger raises an error to read it.

django-pgtrigger's ``_pgtrigger_should_ignore()``, which every history trigger calls once per row, reads the
setting inside a ``BEGIN … EXCEPTION`` block; unset (or empty) it raises and catches an error, and each caught
error rolls back a subtransaction, which rescans the statement's queued trigger events: a bulk write gets slower
with the square of its rows (measured: 1,000 new conversions in one INSERT 24 ms against 17 ms, 5,000 224 against
89 ms, 40,000 9.6 s against 0.7 s). With a database default of ``{}`` every new session reads an empty list and
nothing raises; ``pgtrigger.ignore()`` sets its own value per transaction as before. A role that does not own the
database may not set it: the migration then leaves it unset (the triggers stay correct, only slower) and
``manage.py check --database default`` says so (gateway.W003).
"""

from django.db import migrations

SET_DEFAULT = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET pgtrigger.ignore = %L', current_database(), '{}');
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'pgtrigger.ignore has no database default: this role does not own the database (gateway.W003)';
END $$;
"""
RESET_DEFAULT = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET pgtrigger.ignore', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("gateway", "0004_idempotency_keys")]

    operations = [migrations.RunSQL(SET_DEFAULT, RESET_DEFAULT)]
