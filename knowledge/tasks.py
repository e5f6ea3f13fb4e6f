"""Jobs of the knowledge app (Procrastinate; docs/JOBS.md): documents' chunk embeddings.

``embed_document`` is queued by ``knowledge.services.document_embedding_requested`` in the transaction that
creates a document or changes its content, so a rolled-back change queues nothing. Its body,
``document_embed``, is idempotent and does nothing for content that changed since (that change queued its
own job), so a retried job or one run twice does no harm. ``reembed_corpus`` brings every document to the
active model (after a change of ``EMBEDDING_PROVIDER`` or ``EMBEDDING_MODEL``), logging its progress.
"""

import logging

from django.conf import settings
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from gateway.jobs import TRANSIENT_ERRORS
from knowledge.embedding import TransientEmbeddingError
from knowledge.services import corpus_reembed, document_embed

logger = logging.getLogger(__name__)

# The database's transient errors, and a provider that timed out, refused the connection or answered 429/5xx.
EMBEDDING_RETRY = RetryStrategy(
    max_attempts=settings.JOB_MAX_ATTEMPTS,
    exponential_wait=settings.JOB_RETRY_BASE_SECONDS,
    retry_exceptions=(*TRANSIENT_ERRORS, TransientEmbeddingError),
)


@app.task(retry=EMBEDDING_RETRY)
def embed_document(*, document_id: str, version: int | None = None) -> str:
    """Chunk and embed one document's current content: embedded, unchanged, superseded or missing."""
    return document_embed(document_id=document_id, version=version)


@app.task(queueing_lock="knowledge.reembed_corpus", retry=EMBEDDING_RETRY)
def reembed_corpus() -> dict:
    """Embed every pending, stale or failed document with the active model, logging the progress."""

    def progress(done, total, chunks):
        logger.info("re-embedding: %d/%d documents (%.0f %%), %d chunks", done, total, 100 * done / total, chunks)

    return corpus_reembed(progress=progress)
