"""Writes on knowledge documents: creating and editing them (keeping their history), restoring an old
version, and computing their chunk embeddings.

The history itself is written by the database (trigger ``knowledge_documents_record_version``), so
every content change is kept however it is made; these services add who made it, by naming the user in
the transaction-local setting ``gateway.user_id`` that the trigger reads.

Embeddings: wherever a document is created or its embedded text (name or content) changes, the service
calls ``document_embedding_requested``; ``document_embed`` does the work (chunks, vectors, state) and is
safe to run twice or late; ``corpus_reembed`` brings every document to the active model.
"""

import hashlib
import time
from collections.abc import Callable
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from gateway.jobs import defer
from knowledge.choices import EmbeddingState
from knowledge.chunking import split_into_chunks
from knowledge.embedding import EmbeddingError, embedding_setting, get_provider
from knowledge.models import (
    LOCAL_EMBEDDING_DIMENSIONS,
    LOCAL_EMBEDDING_MODEL,
    KnowledgeChunk,
    KnowledgeDocument,
    KnowledgeDocumentVersion,
)
from knowledge.search import validate_embedding

EDITABLE_FIELDS = (
    "name",
    "description",
    "content",
    "embedding",
    "embedding_model",
    "category",
    "tags",
    "source",
    "author",
    "metadata",
)
# What the chunk embeddings are computed from: a change to either asks for new ones.
EMBEDDED_FIELDS = ("name", "content")


@contextmanager
def acting_user(user, *, using: str = DEFAULT_DB_ALIAS):
    """Inside a transaction, attribute document changes made in the block to ``user`` (``None``: unknown).

    Sets ``gateway.user_id`` with ``set_config(..., true)``, so the value can never outlive the
    transaction (a pooled connection does not carry it to the next request), and puts the previous value
    back when the block ends.
    """
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT current_setting('gateway.user_id', true)")
        previous = cursor.fetchone()[0] or ""
        cursor.execute("SELECT set_config('gateway.user_id', %s, true)", [str(user.pk) if user is not None else ""])
        yield
        # On an exception the savepoint rollback of atomic() undoes set_config by itself.
        cursor.execute("SELECT set_config('gateway.user_id', %s, true)", [previous])


@transaction.atomic
def knowledge_document_update(*, document: KnowledgeDocument, user=None, **fields) -> KnowledgeDocument:
    """Change any of a document's editable fields, as ``user``; returns the updated document.

    The row is locked meanwhile. When the content changes, the database raises ``version`` by one and
    keeps the previous version (with ``user`` as ``changed_by``) in ``knowledge_document_versions``.
    Raises ``ValidationError`` for unknown or read-only fields and for invalid values.
    """
    _check_fields(fields)
    locked = KnowledgeDocument.all_objects.select_for_update().get(pk=document.pk)
    embedded_text_changed = any(getattr(locked, name) != fields[name] for name in EMBEDDED_FIELDS if name in fields)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    with acting_user(user):
        # Only the given fields: a concurrent soft delete or edit of another field is never written over.
        locked.save(update_fields=[*fields, "updated_at"])
    if embedded_text_changed:
        document_embedding_requested(locked)
    return locked


@transaction.atomic
def knowledge_document_create(**fields) -> KnowledgeDocument:
    """Create a document from its editable fields and ask for its chunk embeddings.

    Raises ``ValidationError`` for unknown or read-only fields and for invalid values.
    """
    _check_fields(fields)
    document = KnowledgeDocument(**fields)
    document.full_clean()
    document.save()
    document_embedding_requested(document)
    return document


def _check_fields(fields: dict) -> None:
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown or read-only field."))
    if fields.get("embedding") is not None:
        try:
            fields["embedding"] = validate_embedding(fields["embedding"])
        except ValidationError as exc:
            raise ValidationError({"embedding": exc.messages}) from exc


@transaction.atomic
def knowledge_document_restore_version(*, document: KnowledgeDocument, version: int, user=None) -> KnowledgeDocument:
    """Make an earlier version's content current again, as a new version (history is never rewritten).

    A document at version ``n + 1`` restored to version 1 gets version ``n + 2`` with version 1's content,
    and version ``n + 1`` joins the history. Only the content is restored: it is what versions track.
    Raises ``ValidationError`` on ``version`` when there is no such earlier version or it has the same
    content as the current one.
    """
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError({"version": "Must be an integer."})
    locked = KnowledgeDocument.all_objects.select_for_update().get(pk=document.pk)
    if version == locked.version:
        raise ValidationError({"version": f"Version {version} is the current version."})
    try:
        previous = locked.versions.get(version=version)
    except KnowledgeDocumentVersion.DoesNotExist:
        stored = list(locked.versions.order_by("version").values_list("version", flat=True))
        available = ", ".join(map(str, stored)) if stored else "none"
        raise ValidationError(
            {"version": f"Document has no earlier version {version}. Earlier versions: {available}."}
        ) from None
    if previous.content == locked.content:
        raise ValidationError({"version": f"Version {version} has the same content as the current version."})
    return knowledge_document_update(document=locked, user=user, content=previous.content)


def document_embedding_requested(document: KnowledgeDocument) -> None:
    """Mark ``document`` as waiting for its chunk embeddings: ``STALE`` when it has older ones, else ``PENDING``.

    The one call made wherever a document is created or its name or content changes, inside that write's
    transaction. The work itself, ``document_embed(document_id=..., version=...)``, is queued here as the
    ``knowledge.tasks.embed_document`` job in the same transaction, so a rolled-back write queues nothing and
    a committed one is embedded by a worker (``make run`` starts one); ``manage.py embed_documents`` does any
    pending and stale documents at once.
    """
    # The task module imports this one (its bodies are services): imported here, when first needed.
    from knowledge.tasks import embed_document

    has_chunks = KnowledgeChunk.objects.filter(document_id=document.pk).exists()
    state = EmbeddingState.STALE if has_chunks else EmbeddingState.PENDING
    KnowledgeDocument.all_objects.filter(pk=document.pk).update(embedding_state=state, embedding_error=None)
    document.embedding_state, document.embedding_error = state, None
    # No version: the database's trigger may just have raised it. The job embeds the content current when it
    # runs; an older job finding newer content leaves it to the job that content queued.
    defer(embed_document, document_id=str(document.pk))


def document_embed(*, document_id, version: int | None = None, provider=None) -> str:
    """Cut the document's content into chunks, embed each with the active model and mark the document ``READY``.

    Idempotent and safe to run late: it returns without writing when the document no longer exists
    (``"missing"``), when ``version`` is given and the content has changed since (``"superseded"``: the
    change asked for its own run) or when the document is already ``READY`` with chunks of this model
    (``"unchanged"``); otherwise ``"embedded"``. The model is called outside any transaction; the chunks are
    then written under the row's lock, only if the content is still the one embedded. A provider failure
    marks the document ``FAILED`` with the error and is raised again (``TransientEmbeddingError`` is worth a
    retry).
    """
    provider = provider or get_provider()
    document = KnowledgeDocument.all_objects.filter(pk=document_id).defer("embedding", "search_vector").first()
    if document is None:
        return "missing"
    if version is not None and document.version != version:
        return "superseded"
    if document.embedding_state == EmbeddingState.READY and _has_current_chunks(document, provider.model):
        return "unchanged"
    return _embed_documents([document], provider)[document.pk]


def corpus_reembed(
    *, provider=None, batch_documents: int = 32, limit: int | None = None, progress: Callable | None = None
) -> dict:
    """Bring every document to the active model: mark those without current chunks of it ``STALE``, then embed
    each pending, stale or failed document, ``batch_documents`` at a time (their chunks in shared requests).

    ``progress(done, total, chunks)`` is called after each batch. Returns ``{"model", "documents",
    "embedded", "failed", "chunks", "seconds"}``. Each batch is written on its own, so an interrupted run
    keeps what it did and the next run goes on from there. ``limit`` stops after that many documents.
    """
    provider = provider or get_provider()
    documents_stale(model=provider.model)
    knowledge_chunk_index_ensure(model=provider.model, dimensions=_dimensions(provider))
    todo = KnowledgeDocument.all_objects.exclude(embedding_state=EmbeddingState.READY)
    ids = list(todo.order_by("pk").values_list("pk", flat=True)[:limit])
    started, done, chunks, outcomes = time.perf_counter(), 0, 0, {}
    for first in range(0, len(ids), batch_documents):
        batch = list(
            KnowledgeDocument.all_objects.filter(pk__in=ids[first : first + batch_documents])
            .defer("embedding", "search_vector")
            .order_by("pk")
        )
        try:
            results = _embed_documents(batch, provider)
        except EmbeddingError:
            results = {}
            for document in batch:  # one by one, so one bad document does not fail the others
                try:
                    results.update(_embed_documents([document], provider))
                except EmbeddingError:
                    results[document.pk] = "failed"
        outcomes.update(results)
        done += len(batch)
        chunks = KnowledgeChunk.objects.filter(model=provider.model, document_id__in=ids[:done]).count()
        if progress is not None:
            progress(done, len(ids), chunks)
    return {
        "model": provider.model,
        "documents": len(ids),
        "embedded": sum(1 for outcome in outcomes.values() if outcome == "embedded"),
        "failed": sum(1 for outcome in outcomes.values() if outcome == "failed"),
        "chunks": chunks,
        "seconds": time.perf_counter() - started,
    }


def documents_stale(*, model: str) -> int:
    """Mark ``READY`` documents that have no chunks of ``model`` for their current content ``STALE``; how many."""
    current = KnowledgeChunk.objects.filter(
        document_id=OuterRef("pk"), model=model, document_version=OuterRef("version")
    )
    return (
        KnowledgeDocument.all_objects.filter(embedding_state=EmbeddingState.READY)
        .exclude(Exists(current))
        .update(embedding_state=EmbeddingState.STALE)
    )


def knowledge_chunk_index_ensure(*, model: str, dimensions: int) -> str:
    """Create the partial HNSW index over ``model``'s chunks when it does not exist; returns its name.

    Each model's vectors get their own index (``(embedding::vector(n)) vector_cosine_ops WHERE model = ...``),
    the one search uses for that model. The local model's is declared on ``KnowledgeChunk``; others are made
    here, the first time a corpus is embedded with them.
    """
    if model == LOCAL_EMBEDDING_MODEL and dimensions == LOCAL_EMBEDDING_DIMENSIONS:
        return "knowledge_chunk_e5_small_idx"
    if not isinstance(dimensions, int) or not 1 <= dimensions <= 2000:
        raise ValidationError({"dimensions": "HNSW indexes vectors of 1 to 2,000 dimensions."})
    name = f"knowledge_chunk_{hashlib.sha256(model.encode()).hexdigest()[:12]}_{dimensions}_idx"
    with connection.cursor() as cursor:
        # Inside a transaction that wrote chunks, their deferred foreign-key checks must run first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {connection.ops.quote_name(name)} ON knowledge_chunks "
            f"USING hnsw ((embedding::vector({dimensions})) vector_cosine_ops) WITH (m = 16, ef_construction = 64) "
            "WHERE model = %s",
            [model],
        )
    return name


def _dimensions(provider) -> int:
    dimensions = getattr(provider, "dimensions", None)
    return dimensions if dimensions else len(provider.embed_query("dimensions"))


def _has_current_chunks(document, model: str) -> bool:
    return KnowledgeChunk.objects.filter(
        document_id=document.pk, model=model, document_version=document.version
    ).exists()


def _embed_documents(documents: list, provider) -> dict:
    """Chunk and embed ``documents`` (their texts in shared requests), then store each one's chunks."""
    max_words = embedding_setting("EMBEDDING_CHUNK_WORDS")
    overlap = embedding_setting("EMBEDDING_CHUNK_OVERLAP")
    pieces = {
        document.pk: split_into_chunks(document.content, max_words=max_words, overlap=overlap) for document in documents
    }
    texts = [f"{document.name}\n\n{chunk.text}" for document in documents for chunk in pieces[document.pk]]
    batch = embedding_setting("EMBEDDING_BATCH_SIZE")
    try:
        vectors = [
            vector
            for first in range(0, len(texts), batch)
            for vector in provider.embed_documents(texts[first : first + batch])
        ]
    except EmbeddingError as error:
        if len(documents) == 1:
            KnowledgeDocument.all_objects.filter(pk=documents[0].pk, version=documents[0].version).update(
                embedding_state=EmbeddingState.FAILED, embedding_error=str(error)[:2000]
            )
        raise
    outcomes, position = {}, 0
    for document in documents:
        count = len(pieces[document.pk])
        outcomes[document.pk] = _store_chunks(
            document, provider.model, pieces[document.pk], vectors[position : position + count]
        )
        position += count
    return outcomes


@transaction.atomic
def _store_chunks(document, model: str, pieces: list, vectors: list) -> str:
    """Replace the document's chunks with these, under its row lock, if its name and content are still these."""
    current = (
        KnowledgeDocument.all_objects.select_for_update()
        .filter(pk=document.pk)
        .values("version", "name", "content")
        .first()
    )
    if current is None:
        return "missing"
    if (current["version"], current["name"], current["content"]) != (document.version, document.name, document.content):
        return "superseded"
    KnowledgeChunk.objects.filter(document_id=document.pk).delete()
    KnowledgeChunk.objects.bulk_create(
        KnowledgeChunk(
            document_id=document.pk,
            model=model,
            ordinal=ordinal,
            document_version=document.version,
            start=piece.start,
            end=piece.end,
            content=piece.text,
            embedding=vector,
        )
        for ordinal, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))
    )
    KnowledgeDocument.all_objects.filter(pk=document.pk).update(
        embedding_state=EmbeddingState.READY,
        embedding_error=None,
        embedded_at=timezone.now(),
    )
    return "embedded"
