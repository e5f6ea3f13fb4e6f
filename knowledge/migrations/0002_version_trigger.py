from django.db import migrations

FORWARD = """
CREATE FUNCTION knowledge_documents_bump_version() RETURNS trigger AS $$
BEGIN
    IF NEW.content IS DISTINCT FROM OLD.content THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER knowledge_documents_bump_version
    BEFORE UPDATE OF content ON knowledge_documents
    FOR EACH ROW EXECUTE FUNCTION knowledge_documents_bump_version();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS knowledge_documents_bump_version ON knowledge_documents;
DROP FUNCTION IF EXISTS knowledge_documents_bump_version();
"""


class Migration(migrations.Migration):
    """Raise a document's version whenever its content changes, however it is written."""

    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
