"""Serializers (and the body parser) of knowledge search, document versions and version restore."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.api import strict
from gateway.api.exceptions import PayloadTooLarge
from gateway.api.renderers import ORJSONParser
from gateway.api.serializers import ModelSerializer, Serializer
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocumentVersion
from knowledge.search import (
    DEFAULT_CLIENT_EMBEDDING_MODEL,
    FLOAT32_MAX,
    MAX_K,
    MAX_MODEL_NAME,
    MAX_QUERY_LENGTH,
    MAX_TAGS,
    MODES,
    TAGS_MODES,
    validate_embedding,
    validate_search_params,
)

NOT_BLANK = r"\S"
# 1,536 floats written out in full take about 40 KB of JSON; this leaves room for pretty-printing.
DEFAULT_MAX_SEARCH_BODY_BYTES = 256 * 1024


class SearchBodyParser(ORJSONParser):
    """JSON, refused with a 413 beyond ``KNOWLEDGE_SEARCH_MAX_BODY_BYTES`` before it is read into memory.

    The API's JSON parser underneath, with its depth limit and its strictness (gateway/api/renderers.py).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, "KNOWLEDGE_SEARCH_MAX_BODY_BYTES", DEFAULT_MAX_SEARCH_BODY_BYTES)
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            if declared and int(declared) > limit:
                raise too_large
        except ValueError:
            pass
        if stream is None:
            return {}
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise too_large
        return super().parse(_Body(body), media_type, parser_context)


class _Body:
    """A read-once stream over bytes already read (what ``JSONParser.parse`` expects)."""

    def __init__(self, body: bytes):
        self.body = body

    def read(self, *args):
        body, self.body = self.body, b""
        return body


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX},
        "minItems": EMBEDDING_DIMENSIONS,
        "maxItems": EMBEDDING_DIMENSIONS,
        "nullable": True,
    }
)
class EmbeddingField(serializers.Field):
    """Exactly ``EMBEDDING_DIMENSIONS`` finite numbers, not all zero; one clear message when it is not."""

    def to_internal_value(self, data):
        try:
            return validate_embedding(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error

    def to_representation(self, value):
        return list(value)


class KnowledgeSearchSerializer(Serializer):
    """What ``POST knowledge-documents/search/`` takes: a query, an embedding, or both, and filters."""

    query = strict.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        help_text="Text in web-search syntax: quoted phrases, OR, and -word to exclude.",
    )
    embedding = EmbeddingField(
        required=False,
        allow_null=True,
        help_text=f"The question's embedding: {EMBEDDING_DIMENSIONS} finite numbers, by `embedding_model`. "
        "Without one, `vector` and `hybrid` embed the query on the server.",
    )
    embedding_model = strict.RegexField(
        NOT_BLANK,
        required=False,
        allow_null=True,
        max_length=MAX_MODEL_NAME,
        help_text="The model `embedding` comes from; it is compared only with documents' embeddings of that model "
        f"(default {DEFAULT_CLIENT_EMBEDDING_MODEL}).",
    )
    k = strict.IntegerField(
        required=False, default=10, min_value=1, max_value=MAX_K, help_text="How many results (1 to 100)."
    )
    # "Not only spaces" (what the fields check after trimming) is in the schema as the pattern \S.
    category = strict.RegexField(
        NOT_BLANK, required=False, allow_null=True, max_length=100, help_text="Only documents of this category."
    )
    tags = serializers.ListField(
        child=strict.RegexField(NOT_BLANK, max_length=100),
        required=False,
        allow_null=True,
        max_length=MAX_TAGS,
        help_text="Only documents with these tags (any or all of them, see tags_mode).",
    )
    tags_mode = serializers.ChoiceField(choices=TAGS_MODES, required=False, default="any")
    mode = serializers.ChoiceField(
        choices=MODES,
        required=False,
        allow_null=True,
        help_text="text, fuzzy (misspelt names), vector or hybrid; by default hybrid with both inputs, "
        "text with a query only, vector with an embedding only. vector and hybrid with a query only embed it on "
        "the server.",
    )

    def validate(self, attrs):
        try:
            validate_search_params(**attrs)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs


class KnowledgeSearchResultSerializer(serializers.Serializer):
    id = strict.UUIDField()
    name = strict.CharField()
    category = strict.CharField()
    tags = serializers.ListField(child=strict.CharField())
    score = strict.FloatField(
        help_text="Higher is better: ts_rank_cd (text), word similarity (fuzzy), cosine similarity (vector) "
        "or the reciprocal rank fusion score (hybrid)."
    )
    text_rank = strict.IntegerField(
        allow_null=True, help_text="1-based rank in the full-text list (the name-similarity list in fuzzy mode)."
    )
    vector_rank = strict.IntegerField(allow_null=True, help_text="1-based rank in the vector list.")
    text_score = strict.FloatField(allow_null=True, help_text="Full-text rank (or name similarity).")
    distance = strict.FloatField(allow_null=True, help_text="Cosine distance to the query embedding.")
    chunk = strict.IntegerField(
        allow_null=True,
        help_text="Position (from 0) of the document's nearest chunk, the snippet, when the query was embedded "
        "on the server.",
    )
    snippet = strict.CharField(
        help_text="HTML-escaped excerpt: the nearest chunk, or the content; matches wrapped in <mark>."
    )


class KnowledgeSearchResponseSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=MODES)
    results = KnowledgeSearchResultSerializer(many=True)


class KnowledgeDocumentVersionSerializer(ModelSerializer):
    """An earlier version of a document: its content as it was, who replaced it (``changed_by``) and when."""

    class Meta:
        model = KnowledgeDocumentVersion
        fields = ["id", "document", "version", "name", "description", "content", "changed_by", "created_at"]
        read_only_fields = fields


class RestoreVersionSerializer(Serializer):
    version = strict.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The earlier version whose content comes back."
    )
