"""The knowledge app's part of ``manage.py seed``: the development documents' chunk embeddings, and for
``--scale`` knowledge documents with (client-style) embeddings, whose chunks are left pending."""

import math
from array import array
from contextlib import contextmanager
from datetime import UTC, datetime
from random import Random

from django.db import connection

from gateway.seeding import AppSeeding, register
from gateway.seeding.scale import DAY
from knowledge.choices import EmbeddingState
from knowledge.embedding import EmbeddingError
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from knowledge.services import document_embed

DOCUMENTS_PER_USER = 2

DOCUMENT_CATEGORIES = {
    "best-practices": (
        "Open with motion or a face: the first three seconds decide whether people keep watching.",
        "Short videos are watched to the end far more often than long ones.",
        "Subtitles matter because most social video plays with the sound off.",
        "Show the logo early, but keep it small enough not to feel like an interruption.",
        "One message per video keeps the call to action clear.",
        "Vertical framing wins on mobile placements such as stories and reels.",
    ),
    "platform-guides": (
        "Pick the campaign objective that matches the result you want; delivery optimises for it.",
        "Broad targeting lets the delivery system find buyers once the pixel has enough data.",
        "Lookalike audiences built from the best customers scale prospecting efficiently.",
        "Rotate creatives every two to three weeks to avoid creative fatigue.",
        "Raise budgets gradually so ad sets do not fall back into the learning phase.",
        "Advantage+ placements are a good default until the data says otherwise.",
    ),
    "analytics": (
        "ROAS is revenue divided by ad spend over the same period and attribution window.",
        "Blended ROAS divides all revenue by all ad spend across channels.",
        "Incremental ROAS counts only the revenue the ads caused, measured with holdout tests.",
        "A seven-day click window is the usual default for comparing campaigns.",
        "Lifetime value turns a low first-order ROAS into a profitable campaign.",
        "Cohort analysis shows whether customers acquired by a campaign keep buying.",
    ),
    "creative": (
        "User-generated content often outperforms polished studio footage in feeds.",
        "Captions that ask a question invite comments and lift engagement.",
        "Bright, high-contrast thumbnails stand out in a crowded feed.",
        "Music that matches the pace of the edit keeps viewers watching.",
        "Showing the product in use within five seconds raises click-through rate.",
        "Testimonials work best when the customer speaks to the camera.",
    ),
    "compliance": (
        "Claims about health or income need substantiation before they run in an ad.",
        "Brand safety scores flag content near sensitive topics before it is published.",
        "Consent for tracking must be collected before pixels fire in regulated markets.",
        "Ads for restricted categories need age targeting and platform approval.",
        "Keep a record of every creative version and the claims it made.",
        "Personal data in custom audiences must be hashed before upload.",
    ),
}
DOCUMENT_KINDS = ("Guide", "Checklist", "Playbook", "Cheat Sheet", "Case Study", "FAQ", "Deep Dive")
DOCUMENT_TOPICS = {
    "best-practices": ("Video Hooks", "Short-Form Video", "Mobile Creative", "Ad Storytelling"),
    "platform-guides": ("Meta Ads", "TikTok Ads", "Google Video Ads", "Campaign Budgets"),
    "analytics": ("ROAS", "Attribution", "Lifetime Value", "Incrementality"),
    "creative": ("Thumbnails", "UGC Creative", "Captions", "Testimonials"),
    "compliance": ("Ad Policies", "Brand Safety", "Consent and Tracking", "Restricted Categories"),
}
DOCUMENT_TAGS = ("video", "ads", "meta", "tiktok", "google", "roas", "creative", "analytics", "mobile", "policy")
DOCUMENT_AUTHORS = ("Marketing Team", "Ads Team", "Analytics Team", "Creative Studio", "Legal Team")
DOCUMENT_CHUNK = 1_000
# The seed embeds at most this many waiting documents itself (the development set has 3); more is the
# embedding command's work.
DEVELOPMENT_EMBED_LIMIT = 20
# Rebuild the HNSW index when a run adds at least this share of the documents already there.
HNSW_REBUILD_SHARE = 0.1
# Enough for the graph of ~100,000 documents to be built in memory (much faster than spilling).
HNSW_BUILD_MEMORY = "1GB"
# How far a document's embedding strays from its category's centroid (cosine similarity ≈ 0.6 to it).
EMBEDDING_NOISE = 0.044 / 128


def _unit_vector(rng: Random) -> list[float]:
    vector = [rng.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.hypot(*vector)
    return [v / norm for v in vector]


@register
class KnowledgeSeeding(AppSeeding):
    """Knowledge documents: ``DOCUMENTS_PER_USER`` per user unit, owned by no user.

    They are written after the units, in one transaction of their own, rebuilding the HNSW index when
    that is faster (see ``writing``).
    """

    fields = {
        KnowledgeDocument: (
            "id", "created_at", "updated_at", "deleted_at", "name", "description", "content", "embedding",
            "embedding_model", "category", "tags", "version", "source", "author", "metadata",
        ),
    }  # fmt: skip
    per_unit = {KnowledgeDocument: DOCUMENTS_PER_USER}
    standalone = True
    chunk = DOCUMENT_CHUNK

    def __init__(self):
        self._centroids = {category: _unit_vector(Random(f"centroid:{category}")) for category in DOCUMENT_CATEGORIES}

    def after_fixture(self) -> list[str]:
        """Embed the development documents that are not embedded yet (three short ones: about a second)."""
        pending = KnowledgeDocument.all_objects.exclude(embedding_state=EmbeddingState.READY)
        ids = list(pending.order_by("pk").values_list("pk", flat=True)[: DEVELOPMENT_EMBED_LIMIT + 1])
        if len(ids) > DEVELOPMENT_EMBED_LIMIT:
            return ["Knowledge documents waiting for embeddings: run `manage.py embed_documents`."]
        try:
            for pk in ids:
                document_embed(document_id=pk)
        except EmbeddingError as error:
            return [f"Knowledge documents not embedded ({error}): run `manage.py embed_documents`."]
        return []

    def build(self, gen, count: int) -> dict:
        """``count`` knowledge documents, as a batch."""
        return {KnowledgeDocument: [self.knowledge_document(gen) for _ in range(count)]}

    @contextmanager
    def writing(self, count: int):
        """Around the COPY of ``count`` documents: drop the HNSW indexes when rebuilding them is faster.

        Inserting into an HNSW index costs milliseconds per 1536-dimension vector (a graph search with
        page-by-page WAL), while building it afresh costs a fraction of that per row. So when the new
        documents are a large share of the table, the index is dropped and recreated from its own
        definition around the COPY; the transaction means a failure leaves the old index in place.
        Readers of ``knowledge_documents`` wait for the duration (DROP INDEX locks the table).
        """
        table = KnowledgeDocument._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            # reltuples is the planner's estimate (-1 before the first ANALYZE): good enough to decide.
            cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
            existing = cursor.fetchone()[0]
            hnsw_indexes = []
            if count >= HNSW_REBUILD_SHARE * existing:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema() AND tablename = %s AND indexdef LIKE %s",
                    [table, "% USING hnsw %"],
                )
                hnsw_indexes = cursor.fetchall()
                for name, _ in hnsw_indexes:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        yield
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{HNSW_BUILD_MEMORY}'")
            for _, definition in hnsw_indexes:
                cursor.execute(definition)

    def knowledge_document(self, gen) -> tuple:
        rng = gen.rng
        random = rng.random
        category = rng.choice(tuple(DOCUMENT_CATEGORIES))
        topic = rng.choice(DOCUMENT_TOPICS[category])
        name = f"{topic} {rng.choice(DOCUMENT_KINDS)}"
        sentences = DOCUMENT_CATEGORIES[category]
        points = rng.sample(sentences, 4)
        content = (
            f"# {name}\n\n{rng.choice(sentences)}\n\n## Key points\n"
            + "".join(f"- {point}\n" for point in points)
            + f"\n## In practice\n{' '.join(rng.sample(sentences, 3))}\n"
        )
        created = datetime.fromtimestamp(gen.now - 730 * DAY * random(), UTC)
        tags = sorted({category.split("-")[0], *rng.sample(DOCUMENT_TAGS, 2)})
        return (
            gen.uuid(),
            created,
            created,
            None,
            name,
            f"{topic}: what works and why",
            content,
            self.embedding(gen, category),
            "text-embedding-3-small",
            category,
            tags,
            1,
            "internal",
            rng.choice(DOCUMENT_AUTHORS),
            "{}",
        )

    def embedding(self, gen, category: str) -> str:
        """A unit vector near the category's centroid, in pgvector's text form.

        Documents of one category resemble each other as real embeddings of related texts do, which
        keeps vector-search benchmarks meaningful. ``randbytes`` gives the noise for all 1536
        components in one call, much faster than drawing them one by one.
        """
        noise = array("b", gen.rng.randbytes(EMBEDDING_DIMENSIONS))
        vector = [c + n * EMBEDDING_NOISE for c, n in zip(self._centroids[category], noise, strict=True)]
        norm = math.hypot(*vector)
        return "[" + ",".join([f"{v / norm:.6f}" for v in vector]) + "]"
