"""A hard delete racing with the document's embedding job: whatever the job commits first is removed with it.

The job writes a document's chunks under the document's row lock (``knowledge.services._store_chunks``). A hard
delete that collected the chunks before the job committed and deleted the row after it would leave the job's
chunks pointing at nothing: the deferred foreign key refuses the commit, and the ADMIN's ``DELETE`` got a 400
(the console's delete a 500). ``SoftDeleteModel.delete`` (and ``SoftDeleteQuerySet.delete``, the console's
"Permanently delete selected") locks the row first, so the delete waits for the job and removes what the job
wrote, from the API and from the console alike.
"""

import threading

import pytest
from django.db import connection, connections, transaction

from gateway.tests.job_helpers import wait_for
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeChunk, KnowledgeDocument

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTS = "/api/v1/knowledge-documents/"


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def delete_through_the_api(admin_client_api, admin_client, document):
    response = admin_client_api.delete(f"{DOCUMENTS}{document.pk}/?hard=true")
    assert response.status_code == 204, response.content


def delete_in_the_console(admin_client_api, admin_client, document):
    response = admin_client.post(f"/admin/knowledge/knowledgedocument/{document.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content


def delete_selected_in_the_console(admin_client_api, admin_client, document):
    response = admin_client.post(
        "/admin/knowledge/knowledgedocument/",
        {"action": "delete_selected", "_selected_action": [str(document.pk)], "post": "yes"},
    )
    assert response.status_code == 302, response.content


@pytest.mark.parametrize("hard_delete", [delete_through_the_api, delete_in_the_console, delete_selected_in_the_console])
def test_a_hard_delete_waits_for_the_embedding_job_and_removes_its_chunks(hard_delete, admin_client_api, admin_client):
    document = KnowledgeDocumentFactory()
    locked, release, answers = threading.Event(), threading.Event(), []

    def embedding_job():
        # What _store_chunks does, held open until the DELETE waits for the row.
        try:
            with transaction.atomic():
                KnowledgeDocument.all_objects.select_for_update().filter(pk=document.pk).get()
                locked.set()
                release.wait(10)
                KnowledgeChunk.objects.create(
                    document=document, model="test", ordinal=0, document_version=document.version,
                    start=0, end=5, content="chunk", embedding=[0.01] * EMBEDDING_DIMENSIONS,
                )  # fmt: skip
        finally:
            connections.close_all()

    def delete():
        try:
            hard_delete(admin_client_api, admin_client, document)
            answers.append("deleted")
        except AssertionError as error:
            answers.append(error)
        finally:
            connections.close_all()

    job = threading.Thread(target=embedding_job)
    job.start()
    assert locked.wait(10)
    deleter = threading.Thread(target=delete)
    deleter.start()
    try:
        wait_for(lambda: backends_waiting_for_a_lock() >= 1, timeout=10, message="the delete never waited for the row")
    finally:
        release.set()
        job.join(20)
        deleter.join(20)
    assert answers == ["deleted"]
    assert not KnowledgeDocument.all_objects.filter(pk=document.pk).exists()
    assert not KnowledgeChunk.objects.filter(document_id=document.pk).exists()
