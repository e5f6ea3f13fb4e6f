"""Serializers of knowledge documents."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.api import strict
from gateway.api.fields import JSONObjectField
from gateway.api.serializers import ModelSerializer
from knowledge.api.search_serializers import EmbeddingField
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from knowledge.search import validate_embedding
from knowledge.services import knowledge_document_create, knowledge_document_update


class KnowledgeDocumentSerializer(ModelSerializer):
    """A knowledge document. ``version`` is raised by the database whenever ``content`` changes.

    ``embedding`` is write-only (1,536 numbers, or null, by ``embedding_model``); ``has_embedding`` tells
    whether one is stored. ``embedding_state`` is the server's own chunk embeddings: PENDING, READY, FAILED
    (``embedding_error`` says why) or STALE (of an older content or another model).
    """

    # The search's field: the same checks, and a schema that says "exactly 1,536 numbers".
    embedding = EmbeddingField(
        required=False,
        allow_null=True,
        write_only=True,
        help_text=f"The document's embedding: exactly {EMBEDDING_DIMENSIONS} numbers, not all zero.",
    )
    has_embedding = serializers.SerializerMethodField()
    tags = serializers.ListField(child=strict.CharField(max_length=100), required=False)
    metadata = JSONObjectField(required=False)

    class Meta:
        model = KnowledgeDocument
        fields = [
            "id",
            "name",
            "description",
            "content",
            "category",
            "tags",
            "version",
            "source",
            "author",
            "embedding",
            "embedding_model",
            "has_embedding",
            "embedding_state",
            "embedding_error",
            "embedded_at",
            "metadata",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = [
            "id",
            "version",
            "embedding_state",
            "embedding_error",
            "embedded_at",
            "created_at",
            "updated_at",
            "deleted_at",
        ]

    @extend_schema_field(strict.BooleanField())
    def get_has_embedding(self, document) -> bool:
        stored = getattr(document, "embedding_stored", None)
        return document.embedding is not None if stored is None else stored

    def validate_embedding(self, value):
        return None if value is None else validate_embedding(value)

    def create(self, validated_data):
        return knowledge_document_create(**validated_data)

    def update(self, instance, validated_data):
        request = self.context.get("request")
        return knowledge_document_update(document=instance, user=getattr(request, "user", None), **validated_data)
