"""What the staff console exports of knowledge documents (docs/CONSOLE.md): their description, not their content.

A document's content (and its vectors) can be megabytes; the export lists the documents to work on, the API
and the document's page give the text.
"""

from import_export.fields import Field

from gateway.resources import ExportResource
from knowledge.models import KnowledgeDocument


class KnowledgeDocumentResource(ExportResource):
    """A document per line: name, category, tags (comma-separated), version, embedding state and authorship."""

    tags = Field(column_name="tags", readonly=True)

    class Meta:
        model = KnowledgeDocument
        fields = (
            "id", "name", "description", "category", "tags", "version", "embedding_model", "embedding_state",
            "source", "author", "created_at", "updated_at", "deleted_at",
        )  # fmt: skip
        export_order = fields

    def dehydrate_tags(self, document):
        return ", ".join(document.tags or ())
