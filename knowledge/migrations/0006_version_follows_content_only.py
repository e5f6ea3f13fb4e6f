from django.db import migrations

# The version is the database's to keep: on every UPDATE it becomes the old version, plus one when
# the content changed. A direct write of `version` (a stale instance saving its old number, a raw
# UPDATE) can no longer move it, so the history table's (document, version) pairs stay unique.
FORWARD = """
CREATE OR REPLACE FUNCTION knowledge_documents_bump_version() RETURNS trigger AS $$
BEGIN
    NEW.version := OLD.version + CASE WHEN NEW.content IS DISTINCT FROM OLD.content THEN 1 ELSE 0 END;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER knowledge_documents_bump_version ON knowledge_documents;
CREATE TRIGGER knowledge_documents_bump_version
    BEFORE UPDATE ON knowledge_documents
    FOR EACH ROW EXECUTE FUNCTION knowledge_documents_bump_version();
"""

# Back to 0002's trigger: fires only for content updates and then adds one.
BACKWARD = """
CREATE OR REPLACE FUNCTION knowledge_documents_bump_version() RETURNS trigger AS $$
BEGIN
    IF NEW.content IS DISTINCT FROM OLD.content THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER knowledge_documents_bump_version ON knowledge_documents;
CREATE TRIGGER knowledge_documents_bump_version
    BEFORE UPDATE OF content ON knowledge_documents
    FOR EACH ROW EXECUTE FUNCTION knowledge_documents_bump_version();
"""


class Migration(migrations.Migration):
    """Make `version` follow content changes only: direct writes to it are overridden."""

    dependencies = [("knowledge", "0005_embedding_storage_plain")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
