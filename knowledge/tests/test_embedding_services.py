"""Chunk embeddings: requesting them, ``document_embed``, ``corpus_reembed``, the per-model index and the command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import free_port
from knowledge.choices import EmbeddingState
from knowledge.embedding import OpenAIProvider, TransientEmbeddingError
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import LOCAL_EMBEDDING_MODEL, KnowledgeChunk, KnowledgeDocument
from knowledge.services import (
    corpus_reembed,
    document_embed,
    documents_stale,
    knowledge_chunk_index_ensure,
    knowledge_document_create,
    knowledge_document_restore_version,
    knowledge_document_update,
)
from knowledge.tests.conftest import SERVED_MODEL

pytestmark = pytest.mark.django_db

LONG_CONTENT = " ".join(f"Sentence number {number} says something about ad budgets." for number in range(60))


def state(document) -> str:
    return KnowledgeDocument.all_objects.values_list("embedding_state", flat=True).get(pk=document.pk)


def unreachable() -> OpenAIProvider:
    url = f"http://127.0.0.1:{free_port()}/v1"
    return OpenAIProvider(url=url, api_key="", model="remote", input_type=False, timeout=2)


class TestRequested:
    def test_a_new_document_is_pending(self):
        document = knowledge_document_create(name="Pacing", content="Spend evenly.", category="guides")
        assert state(document) == EmbeddingState.PENDING

    def test_a_content_change_makes_an_embedded_document_stale(self):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        knowledge_document_update(document=document, content="Rewritten.")
        assert state(document) == EmbeddingState.STALE

    def test_a_rename_asks_again_too(self):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        knowledge_document_update(document=document, name="Renamed")
        assert state(document) == EmbeddingState.STALE

    def test_other_edits_keep_the_state(self):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        knowledge_document_update(document=document, category="other", tags=["x"])
        assert state(document) == EmbeddingState.READY

    def test_restoring_a_version_asks_again(self):
        document = KnowledgeDocumentFactory(content="first")
        knowledge_document_update(document=document, content="second")
        document_embed(document_id=document.pk)
        knowledge_document_restore_version(document=document, version=1)
        assert state(document) == EmbeddingState.STALE


class TestDocumentEmbed:
    def test_stores_overlapping_chunks_of_the_current_content_and_marks_it_ready(self):
        document = KnowledgeDocumentFactory(content=LONG_CONTENT)
        assert document_embed(document_id=document.pk) == "embedded"
        chunks = list(KnowledgeChunk.objects.filter(document=document).order_by("ordinal"))
        assert len(chunks) > 1
        assert all(chunk.model == LOCAL_EMBEDDING_MODEL and len(chunk.embedding) == 384 for chunk in chunks)
        assert all(LONG_CONTENT[chunk.start : chunk.end] == chunk.content for chunk in chunks)
        assert chunks[1].start < chunks[0].end  # overlap
        row = KnowledgeDocument.all_objects.get(pk=document.pk)
        assert (row.embedding_state, row.embedding_error, row.embedded_at is not None) == ("READY", None, True)

    def test_running_twice_changes_nothing(self):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        chunk_ids = set(KnowledgeChunk.objects.filter(document=document).values_list("pk", flat=True))
        assert document_embed(document_id=document.pk) == "unchanged"
        assert set(KnowledgeChunk.objects.filter(document=document).values_list("pk", flat=True)) == chunk_ids

    def test_a_request_for_an_older_content_is_a_no_op(self):
        document = KnowledgeDocumentFactory()
        knowledge_document_update(document=document, content="Version two.")
        assert document_embed(document_id=document.pk, version=1) == "superseded"
        assert state(document) == EmbeddingState.PENDING
        assert not KnowledgeChunk.objects.filter(document=document).exists()

    def test_a_missing_document_is_a_no_op(self):
        document = KnowledgeDocumentFactory()
        pk = document.pk
        document.delete()
        assert document_embed(document_id=pk) == "missing"

    def test_re_embedding_replaces_the_chunks_of_the_older_content(self):
        document = KnowledgeDocumentFactory(content="Old words.")
        document_embed(document_id=document.pk)
        knowledge_document_update(document=document, content="New words.")
        assert document_embed(document_id=document.pk) == "embedded"
        assert list(KnowledgeChunk.objects.filter(document=document).values_list("content", "document_version")) == [
            ("New words.", 2)
        ]

    def test_a_provider_failure_marks_it_failed_and_is_raised(self):
        document = KnowledgeDocumentFactory()
        with pytest.raises(TransientEmbeddingError):
            document_embed(document_id=document.pk, provider=unreachable())
        row = KnowledgeDocument.all_objects.get(pk=document.pk)
        assert row.embedding_state == EmbeddingState.FAILED
        assert "could not be reached" in row.embedding_error

    def test_a_blank_content_is_ready_with_no_chunk(self):
        document = KnowledgeDocumentFactory(content="   ")
        assert document_embed(document_id=document.pk) == "embedded"
        assert state(document) == EmbeddingState.READY
        assert not KnowledgeChunk.objects.filter(document=document).exists()


class TestCorpusReembed:
    def test_embeds_what_waits_and_reports_progress(self):
        documents = KnowledgeDocumentFactory.create_batch(3)
        steps = []
        result = corpus_reembed(batch_documents=2, progress=lambda done, total, chunks: steps.append((done, total)))
        assert steps == [(2, 3), (3, 3)]
        assert (result["documents"], result["embedded"], result["failed"]) == (3, 3, 0)
        assert {state(document) for document in documents} == {EmbeddingState.READY}

    def test_a_change_of_model_re_embeds_the_corpus_with_it(self, embeddings_server):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        served = OpenAIProvider(
            url=embeddings_server, api_key="", model=SERVED_MODEL + "-served", input_type=True, timeout=30
        )
        result = corpus_reembed(provider=served)
        assert (result["documents"], result["embedded"]) == (1, 1)
        assert set(KnowledgeChunk.objects.filter(document=document).values_list("model", flat=True)) == {
            SERVED_MODEL + "-served"
        }

    def test_failures_are_counted_and_left_failed(self):
        document = KnowledgeDocumentFactory()
        provider = unreachable()
        provider.dimensions = 8  # no probe: the server is down
        knowledge_chunk_index_ensure(model="remote", dimensions=8)
        result = corpus_reembed(provider=provider)
        assert (result["embedded"], result["failed"]) == (0, 1)
        assert state(document) == EmbeddingState.FAILED

    def test_documents_stale_marks_ready_documents_without_chunks_of_the_model(self):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        assert documents_stale(model=LOCAL_EMBEDDING_MODEL) == 0
        assert documents_stale(model="another-model") == 1
        assert state(document) == EmbeddingState.STALE


class TestChunkIndex:
    def index_definition(self, name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
            row = cursor.fetchone()
        return row[0] if row else None

    def test_the_local_model_has_its_own_partial_index(self):
        definition = self.index_definition(knowledge_chunk_index_ensure(model=LOCAL_EMBEDDING_MODEL, dimensions=384))
        assert "(embedding)::vector(384)" in definition
        assert f"WHERE ((model)::text = '{LOCAL_EMBEDDING_MODEL}'::text)" in definition

    def test_another_model_gets_one_of_its_dimensions(self):
        name = knowledge_chunk_index_ensure(model="it's-a-model", dimensions=16)
        definition = self.index_definition(name)
        assert "USING hnsw (((embedding)::vector(16)) vector_cosine_ops)" in definition
        assert "= 'it''s-a-model'::text" in definition
        assert knowledge_chunk_index_ensure(model="it's-a-model", dimensions=16) == name  # idempotent

    @pytest.mark.parametrize("dimensions", [0, 2001])
    def test_refuses_dimensions_hnsw_cannot_index(self, dimensions):
        with pytest.raises(Exception, match="1 to 2,000"):
            knowledge_chunk_index_ensure(model="m", dimensions=dimensions)


class TestCommand:
    def test_embeds_pending_documents_with_a_progress_figure(self):
        documents = KnowledgeDocumentFactory.create_batch(2)
        output = io.StringIO()
        call_command("embed_documents", stdout=output)
        assert "2/2 documents (100 %)" in output.getvalue()
        assert "2 of 2 documents embedded" in output.getvalue()
        assert {state(document) for document in documents} == {EmbeddingState.READY}

    def test_all_re_embeds_ready_documents(self):
        document = KnowledgeDocumentFactory()
        document_embed(document_id=document.pk)
        output = io.StringIO()
        call_command("embed_documents", "--all", stdout=output)
        assert "1 of 1 documents embedded" in output.getvalue()

    def test_limit_stops_early(self):
        KnowledgeDocumentFactory.create_batch(3)
        output = io.StringIO()
        call_command("embed_documents", "--limit", "1", stdout=output)
        assert "1 of 1 documents embedded" in output.getvalue()
        assert KnowledgeDocument.all_objects.filter(embedding_state=EmbeddingState.PENDING).count() == 2

    def test_refuses_a_batch_below_one(self):
        with pytest.raises(CommandError, match="at least 1"):
            call_command("embed_documents", "--batch", "0")
