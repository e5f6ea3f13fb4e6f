"""The knowledge app's piece of the console's home page (``gateway.admin.dashboard``), registered on import
by ``knowledge.admin``: the documents whose embedding failed."""

from gateway.admin.dashboard import WorkQueue, dashboard
from knowledge.choices import EmbeddingState
from knowledge.models import KnowledgeDocument

dashboard.queue(
    WorkQueue(
        label="Knowledge documents whose embedding failed",
        model=KnowledgeDocument,
        rows=lambda: KnowledgeDocument.objects.embedding_failed(),
        params=lambda: {"embedding_state__exact": EmbeddingState.FAILED},
        help="The error is on each document; “Embed the selected documents now” tries again.",
    ),
    order=40,
)
