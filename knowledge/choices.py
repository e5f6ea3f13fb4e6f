from django.db import models


class EmbeddingState(models.TextChoices):
    """Where a document's server-computed chunk embeddings stand (``document_embed`` moves it)."""

    PENDING = "PENDING", "Pending"  # asked for, never embedded yet
    READY = "READY", "Ready"  # chunks of the current content, by the active model
    FAILED = "FAILED", "Failed"  # the last attempt failed (see embedding_error)
    STALE = "STALE", "Stale"  # has chunks, of older content or another model; re-embedding asked for
