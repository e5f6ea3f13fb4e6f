"""``manage.py embed_documents``: compute the chunk embeddings of pending, stale and failed documents."""

from django.core.management.base import BaseCommand, CommandError

from knowledge.choices import EmbeddingState
from knowledge.embedding import EmbeddingError, get_provider
from knowledge.models import KnowledgeDocument
from knowledge.services import corpus_reembed


class Command(BaseCommand):
    help = (
        "Embed every document whose chunk embeddings are pending, stale (older content, or another model than the "
        "active one: after a change of EMBEDDING_PROVIDER or EMBEDDING_MODEL this re-embeds the corpus) or failed, "
        "with a progress figure. Safe to interrupt and run again: it goes on where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", dest="everything", action="store_true", help="Re-embed every document, ready ones too."
        )
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many documents.")
        parser.add_argument("--batch", type=int, default=32, help="Documents embedded together (default 32).")

    def handle(self, *args, everything, limit, batch, **options):
        if batch < 1 or (limit is not None and limit < 1):
            raise CommandError("--batch and --limit must be at least 1.")
        provider = get_provider()
        if everything:
            KnowledgeDocument.all_objects.filter(embedding_state=EmbeddingState.READY).update(
                embedding_state=EmbeddingState.STALE
            )
        self.stdout.write(f"Embedding with {provider.model} ({provider.name} provider).")

        def progress(done, total, chunks):
            self.stdout.write(f"  {done}/{total} documents ({100 * done / total:.0f} %), {chunks} chunks")

        try:
            result = corpus_reembed(provider=provider, batch_documents=batch, limit=limit, progress=progress)
        except EmbeddingError as error:
            raise CommandError(f"The embedding provider failed: {error}") from error
        rate = result["chunks"] / result["seconds"] if result["seconds"] else 0.0
        summary = (
            f"{result['embedded']} of {result['documents']} documents embedded ({result['chunks']} chunks, "
            f"{result['seconds']:.1f} s, {rate:.1f} chunks/s)"
        )
        if result["failed"]:
            raise CommandError(f"{summary}; {result['failed']} failed (see their embedding_error).")
        self.stdout.write(self.style.SUCCESS(summary + "."))
