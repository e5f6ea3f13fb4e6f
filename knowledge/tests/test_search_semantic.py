"""Search with server-side embeddings: a text query in vector and hybrid mode, over chunks of one model."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.embedding import get_provider
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeChunk
from knowledge.search import knowledge_search
from knowledge.services import corpus_reembed, document_embed, knowledge_document_update
from knowledge.tests.corpus import rebuild_vector_index

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/knowledge-documents/search/"

TEXTS = {
    "Creative Rotation": "Swap the visuals of an ad every two weeks, before the audience grows tired of seeing them "
    "again and again and the cost per click climbs.",
    "Consent Before Pixels": "In regulated markets the tracking pixel may only fire after the visitor agreed to it.",
    "Subtitles": "Most social video plays muted, so burned-in captions carry the message without sound.",
}


@pytest.fixture
def corpus():
    cache.clear()
    documents = {name: KnowledgeDocumentFactory(name=name, content=text) for name, text in TEXTS.items()}
    corpus_reembed()
    rebuild_vector_index()
    return documents


def names(result) -> list[str]:
    return [item["name"] for item in result["results"]]


class TestServerSideEmbedding:
    def test_vector_mode_finds_a_document_by_meaning_without_a_shared_word(self, corpus):
        result = knowledge_search(query="how often should I refresh my ad images", mode="vector", k=3)
        assert result["mode"] == "vector"
        assert names(result)[0] == "Creative Rotation"

    def test_hybrid_mode_embeds_the_query_and_fuses_both_lists(self, corpus):
        result = knowledge_search(query="captions", mode="hybrid", k=3)
        best = result["results"][0]
        assert best["name"] == "Subtitles"
        assert (best["text_rank"], best["vector_rank"]) == (1, 1)

    def test_the_snippet_is_the_nearest_chunk_with_its_position(self, corpus):
        long = KnowledgeDocumentFactory(
            name="Long guide",
            content=" ".join(["Budgets rise slowly on good days."] * 60)
            + " Ask for consent before any tracking pixel fires in regulated markets.",
        )
        document_embed(document_id=long.pk)
        last = KnowledgeChunk.objects.filter(document=long).order_by("-ordinal").first()
        result = knowledge_search(query="ask for consent before the pixel fires", mode="vector", k=5)
        hit = next(item for item in result["results"] if item["name"] == "Long guide")
        assert hit["chunk"] == last.ordinal > 0
        assert "consent" in hit["snippet"] and "<mark>consent</mark>" in hit["snippet"]

    def test_text_mode_results_have_no_chunk(self, corpus):
        assert knowledge_search(query="captions")["results"][0]["chunk"] is None

    def test_chunks_of_older_content_are_not_searched(self, corpus):
        knowledge_document_update(document=corpus["Subtitles"], content="Nothing about sound at all.")
        result = knowledge_search(query="videos watched without sound", mode="vector", k=3)
        assert "Subtitles" not in names(result)

    def test_deleted_documents_are_not_found(self, corpus):
        corpus["Creative Rotation"].soft_delete()
        result = knowledge_search(query="how often should I refresh my ad images", mode="vector", k=3)
        assert "Creative Rotation" not in names(result)

    def test_filters_apply_to_chunks(self, corpus):
        knowledge_document_update(document=corpus["Subtitles"], category="creative")
        result = knowledge_search(query="refresh ad images", mode="vector", category="creative", k=3)
        assert names(result) == ["Subtitles"]

    def test_chunks_of_another_model_are_never_compared(self, corpus):
        KnowledgeChunk.objects.update(model="another-model")
        assert knowledge_search(query="refresh ad images", mode="vector", k=3)["results"] == []

    def test_the_query_is_embedded_once_then_cached(self, corpus):
        knowledge_search(query="muted autoplay", mode="vector", k=1)
        provider = get_provider()
        engine, provider._engine = provider._engine, None  # a second embedding would load the model again
        try:
            with CaptureQueriesContext(connection):
                knowledge_search(query="muted autoplay", mode="vector", k=1)
            assert provider._engine is None
        finally:
            provider._engine = engine

    def test_uses_the_models_partial_hnsw_index(self, corpus):
        with CaptureQueriesContext(connection) as queries:
            knowledge_search(query="refresh ad images", mode="vector", k=3)
        ranking = next(
            query["sql"] for query in queries if "knowledge_chunks" in query["sql"] and "<=>" in query["sql"]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {ranking}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "knowledge_chunk_e5_small_idx" in plan


class TestClientEmbeddings:
    def test_are_compared_only_with_documents_of_the_same_model(self, settings):
        # Exact scans: this is about which rows qualify, not about the HNSW index's recall. The suite's dead
        # index entries (every rolled-back test's documents) exhaust hnsw.max_scan_tuples before a live row
        # is reached, until a VACUUM; production's autovacuum keeps them few.
        settings.KNOWLEDGE_VECTOR_AVOID_SEQSCAN = False
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
        vector = [float(number % 7) - 3 for number in range(1536)]
        nearby = [value + 0.1 for value in vector]
        KnowledgeDocumentFactory(name="Same", embedding=nearby, embedding_model="text-embedding-3-small")
        KnowledgeDocumentFactory(name="Other", embedding=vector, embedding_model="text-embedding-3-large")
        assert names(knowledge_search(embedding=vector)) == ["Same"]
        assert names(knowledge_search(embedding=vector, embedding_model="text-embedding-3-large")) == ["Other"]


class TestApi:
    def test_a_text_only_hybrid_search_finds_a_new_document_by_meaning(self, admin_client_api, user_client):
        cache.clear()
        created = admin_client_api.post(
            "/api/v1/knowledge-documents/",
            {"name": "Creative Rotation", "content": TEXTS["Creative Rotation"], "category": "creative"},
            format="json",
        ).json()
        assert created["embedding_state"] == "PENDING"
        document_embed(document_id=created["id"])
        rebuild_vector_index()
        detail = user_client.get(f"/api/v1/knowledge-documents/{created['id']}/").json()
        assert detail["embedding_state"] == "READY" and detail["embedding_error"] is None
        response = user_client.post(SEARCH, {"query": "how often should I refresh my ad images", "mode": "hybrid"})
        assert response.status_code == 200
        assert response.json()["results"][0]["id"] == created["id"]
        assert response.json()["results"][0]["chunk"] == 0
