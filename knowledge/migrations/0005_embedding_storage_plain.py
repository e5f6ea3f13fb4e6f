from django.db import migrations

# pgvector stores a vector(1536) (6 KB) out of line in TOAST by default, so every exact distance (a
# filtered search that the planner answers with the filter's index and a sort) fetches it through the
# TOAST index: five buffer reads instead of one, about three times slower. PLAIN keeps it in the row; the
# row still fits a page because the other long columns (content, description, metadata) are toasted.
# Rows written before this migration keep their layout until they are rewritten (e.g. VACUUM FULL).
FORWARD = "ALTER TABLE knowledge_documents ALTER COLUMN embedding SET STORAGE PLAIN"
BACKWARD = "ALTER TABLE knowledge_documents ALTER COLUMN embedding SET STORAGE EXTERNAL"


class Migration(migrations.Migration):
    """Keep embeddings inline in the row instead of in TOAST."""

    dependencies = [("knowledge", "0004_record_version_trigger")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
