"""Database-level rules of knowledge documents: the version constraint and the version trigger."""

import pytest
from django.db import IntegrityError, connection, transaction

from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeChunk, KnowledgeDocument

pytestmark = pytest.mark.django_db


def stored_version(document) -> int:
    return KnowledgeDocument.all_objects.values_list("version", flat=True).get(pk=document.pk)


def run_sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_every_declared_constraint_has_a_test():
    assert {c.name for c in KnowledgeDocument._meta.constraints} == {
        "knowledge_knowledgedocument_version_positive",
        "knowledge_knowledgedocument_embedding_state_valid",
    }
    assert {c.name for c in KnowledgeChunk._meta.constraints} == {
        "knowledge_knowledgechunk_document_model_ordinal_unique",
        "knowledge_knowledgechunk_ordinal_not_negative",
        "knowledge_knowledgechunk_span_valid",
    }


def test_embedding_state_must_be_known():
    document = KnowledgeDocumentFactory()
    with (
        pytest.raises(IntegrityError, match="knowledge_knowledgedocument_embedding_state_valid"),
        transaction.atomic(),
    ):
        KnowledgeDocument.all_objects.filter(pk=document.pk).update(embedding_state="DONE")


def test_a_new_document_waits_for_its_embeddings_even_when_written_by_sql():
    document = KnowledgeDocumentFactory()
    run_sql("UPDATE knowledge_documents SET embedding_state = DEFAULT WHERE id = %s", [document.pk])
    assert KnowledgeDocument.all_objects.get(pk=document.pk).embedding_state == "PENDING"


def chunk(document, **fields) -> KnowledgeChunk:
    values = {"model": "m", "ordinal": 0, "document_version": 1, "start": 0, "end": 4, "content": "text"}
    return KnowledgeChunk(document=document, embedding=[1.0, 0.0], **{**values, **fields})


class TestChunkConstraints:
    def test_one_chunk_per_document_model_and_position(self):
        document = KnowledgeDocumentFactory()
        chunk(document).save()
        chunk(document, model="other").save()
        with (
            pytest.raises(IntegrityError, match="knowledge_knowledgechunk_document_model_ordinal_unique"),
            transaction.atomic(),
        ):
            chunk(document).save()

    def test_position_is_not_negative(self):
        with pytest.raises(IntegrityError, match="knowledge_knowledgechunk_ordinal_not_negative"), transaction.atomic():
            chunk(KnowledgeDocumentFactory(), ordinal=-1).save()

    @pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 4)])
    def test_span_is_valid(self, start, end):
        with pytest.raises(IntegrityError, match="knowledge_knowledgechunk_span_valid"), transaction.atomic():
            chunk(KnowledgeDocumentFactory(), start=start, end=end).save()

    def test_go_with_their_document(self):
        document = KnowledgeDocumentFactory()
        chunk(document).save()
        document.delete()
        assert not KnowledgeChunk.objects.exists()


@pytest.mark.parametrize("version", [0, -1])
def test_version_must_be_positive(version):
    # Updates cannot set the version at all (the trigger keeps it), so the check guards inserts.
    document = KnowledgeDocumentFactory.build(version=version)
    with pytest.raises(IntegrityError, match="knowledge_knowledgedocument_version_positive"), transaction.atomic():
        document.save()


class TestVersion:
    def test_starts_at_one(self):
        document = KnowledgeDocumentFactory()
        assert stored_version(document) == 1

    def test_goes_up_by_one_when_save_changes_the_content(self):
        document = KnowledgeDocumentFactory()
        document.content = "Hooks in the first three seconds keep viewers watching."
        document.save()
        assert stored_version(document) == 2

    def test_is_read_back_onto_the_instance_after_save(self):
        document = KnowledgeDocumentFactory()
        document.content = "New content."
        document.save()
        assert document.version == 2

    def test_goes_up_once_per_content_change(self):
        document = KnowledgeDocumentFactory()
        for content in ("first edit", "second edit", "third edit"):
            document.content = content
            document.save()
        assert stored_version(document) == 4

    def test_stays_when_save_changes_other_fields(self):
        document = KnowledgeDocumentFactory()
        document.name = "Renamed"
        document.tags = ["renamed"]
        document.save()
        assert stored_version(document) == 1

    def test_stays_when_save_writes_the_same_content(self):
        document = KnowledgeDocumentFactory()
        document.content = str(document.content)
        document.save()
        assert stored_version(document) == 1

    def test_goes_up_by_one_on_queryset_update_of_the_content(self):
        document = KnowledgeDocumentFactory()
        KnowledgeDocument.objects.filter(pk=document.pk).update(content="Updated in bulk.")
        assert stored_version(document) == 2

    def test_goes_up_by_one_on_raw_sql_update_of_the_content(self):
        document = KnowledgeDocumentFactory()
        run_sql("UPDATE knowledge_documents SET content = %s WHERE id = %s", ["Raw edit.", document.pk])
        assert stored_version(document) == 2

    def test_stays_on_raw_sql_update_of_other_columns(self):
        document = KnowledgeDocumentFactory()
        run_sql("UPDATE knowledge_documents SET name = %s WHERE id = %s", ["Raw rename", document.pk])
        assert stored_version(document) == 1

    def test_stays_on_raw_sql_update_that_rewrites_the_same_content(self):
        document = KnowledgeDocumentFactory()
        run_sql("UPDATE knowledge_documents SET content = content WHERE id = %s", [document.pk])
        assert stored_version(document) == 1

    def test_cannot_be_bumped_twice_by_writing_content_and_version_together(self):
        document = KnowledgeDocumentFactory()
        KnowledgeDocument.objects.filter(pk=document.pk).update(content="Edited.", version=7)
        assert stored_version(document) == 2


def test_version_cannot_be_written_directly():
    document = KnowledgeDocumentFactory()
    KnowledgeDocument.all_objects.filter(pk=document.pk).update(version=7)
    document.refresh_from_db()
    assert document.version == 1


def test_stale_instance_does_not_roll_version_back():
    document = KnowledgeDocumentFactory()
    stale = KnowledgeDocument.objects.get(pk=document.pk)
    document.content = "new content"
    document.save()
    stale.name = "renamed"
    stale.save()  # a full save writes the stale content back: a change, so the version goes on, never back
    stale.refresh_from_db()
    assert stale.version == 3
