from django.db import migrations

# The previous version goes to the history table in an AFTER trigger, so it is written only when the
# update really happens, and whoever writes the row (ORM, queryset update, raw SQL) cannot skip it.
# The acting user comes from the transaction-local setting gateway.user_id (set_config(..., true)),
# which knowledge.services sets when it knows the user; anything that is not a UUID counts as unknown.
FORWARD = r"""
CREATE FUNCTION knowledge_documents_record_version() RETURNS trigger AS $$
DECLARE
    acting_user text := NULLIF(current_setting('gateway.user_id', true), '');
BEGIN
    IF acting_user !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
        acting_user := NULL;
    END IF;
    INSERT INTO knowledge_document_versions
        (id, created_at, updated_at, document_id, version, name, description, content, changed_by_id)
    VALUES
        (gen_random_uuid(), clock_timestamp(), clock_timestamp(), OLD.id, OLD.version, OLD.name,
         OLD.description, OLD.content, acting_user::uuid);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER knowledge_documents_record_version
    AFTER UPDATE OF content ON knowledge_documents
    FOR EACH ROW
    WHEN (OLD.content IS DISTINCT FROM NEW.content)
    EXECUTE FUNCTION knowledge_documents_record_version();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS knowledge_documents_record_version ON knowledge_documents;
DROP FUNCTION IF EXISTS knowledge_documents_record_version();
"""


class Migration(migrations.Migration):
    """Keep the previous version of a document in knowledge_document_versions whenever its content changes."""

    dependencies = [("knowledge", "0003_document_versions")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
