"""A document's chunk embeddings are a job queued with the write that needs them, run by a real worker."""

import pytest
from django.db import connection, transaction

from gateway.tests.job_helpers import run_worker_once
from knowledge.choices import EmbeddingState
from knowledge.models import KnowledgeChunk, KnowledgeDocument
from knowledge.services import knowledge_document_create, knowledge_document_update

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTS = "/api/v1/knowledge-documents/"


def queued_embeddings() -> list[str]:
    """The document ids of the queued embedding jobs, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args->>'document_id' FROM procrastinate_jobs"
            " WHERE task_name = 'knowledge.tasks.embed_document' ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_document_created_through_the_api_is_embedded_by_a_worker(empty_queue, admin_client_api):
    response = admin_client_api.post(
        DOCUMENTS,
        {
            "name": "Evening pacing",
            "content": "Spend more of the daily budget after six in the evening.",
            "category": "pacing",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["embedding_state"] == EmbeddingState.PENDING
    assert queued_embeddings() == [response.json()["id"]]

    run_worker_once()

    document = KnowledgeDocument.objects.get(pk=response.json()["id"])
    assert document.embedding_state == EmbeddingState.READY
    assert KnowledgeChunk.objects.filter(document=document).exists()
    assert admin_client_api.get(f"{DOCUMENTS}{document.pk}/").json()["embedding_state"] == EmbeddingState.READY


def test_a_rolled_back_creation_queues_no_embedding(empty_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        knowledge_document_create(name="Draft", content="Never kept.", category="scratch")
        raise RuntimeError("the write that asked for the embedding failed")
    assert queued_embeddings() == []
    assert not KnowledgeDocument.all_objects.filter(name="Draft").exists()


def test_a_content_change_queues_a_new_embedding_and_the_worker_refreshes_it(empty_queue):
    document = knowledge_document_create(name="Bids", content="Raise bids on weekends.", category="bidding")
    run_worker_once()
    knowledge_document_update(document=document, content="Lower bids at night.")
    document.refresh_from_db()
    assert document.embedding_state == EmbeddingState.STALE
    assert queued_embeddings() == [str(document.pk)] * 2

    run_worker_once()

    document.refresh_from_db()
    assert document.embedding_state == EmbeddingState.READY
    chunks = KnowledgeChunk.objects.filter(document=document).values_list("content", flat=True)
    assert any("Lower bids at night." in chunk for chunk in chunks)
