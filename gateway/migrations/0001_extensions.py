from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """The PostgreSQL extensions every app relies on: pgvector and pg_trgm."""

    initial = True
    dependencies = []
    operations = [
        CreateExtension("vector"),
        TrigramExtension(),
    ]
