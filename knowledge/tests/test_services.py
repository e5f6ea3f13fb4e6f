"""Knowledge services: edits that keep their history and restoring an earlier version."""

import pytest
from django.core.exceptions import ValidationError

from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from knowledge.services import knowledge_document_restore_version, knowledge_document_update
from users.factories import UserFactory

pytestmark = pytest.mark.django_db


def stored(document) -> KnowledgeDocument:
    return KnowledgeDocument.all_objects.get(pk=document.pk)


def edit_n_times(document, n: int, user=None) -> KnowledgeDocument:
    for number in range(1, n + 1):
        document = knowledge_document_update(document=document, user=user, content=f"edit {number}")
    return document


class TestKnowledgeDocumentUpdate:
    def test_changes_the_given_fields(self):
        document = KnowledgeDocumentFactory()
        knowledge_document_update(document=document, name="New name", tags=["a", "b"], category="creative")
        row = stored(document)
        assert (row.name, row.tags, row.category) == ("New name", ["a", "b"], "creative")

    def test_a_content_change_raises_the_version_on_the_returned_document(self):
        document = KnowledgeDocumentFactory()
        updated = knowledge_document_update(document=document, content="Rewritten.")
        assert updated.version == 2
        assert stored(document).version == 2

    def test_a_content_change_keeps_the_previous_version_with_the_user(self):
        user = UserFactory()
        document = KnowledgeDocumentFactory(content="before")
        knowledge_document_update(document=document, user=user, content="after")
        previous = document.versions.get()
        assert (previous.version, previous.content, previous.changed_by) == (1, "before", user)

    def test_without_a_user_the_change_is_anonymous(self):
        document = KnowledgeDocumentFactory()
        knowledge_document_update(document=document, content="after")
        assert document.versions.get().changed_by is None

    def test_other_changes_keep_the_version_and_the_history(self):
        document = KnowledgeDocumentFactory()
        updated = knowledge_document_update(document=document, name="Renamed", user=UserFactory())
        assert updated.version == 1
        assert not document.versions.exists()

    def test_sets_a_valid_embedding(self):
        document = KnowledgeDocumentFactory()
        knowledge_document_update(document=document, embedding=[0.5] * EMBEDDING_DIMENSIONS)
        assert stored(document).embedding == pytest.approx([0.5] * EMBEDDING_DIMENSIONS)

    def test_clears_the_embedding(self):
        document = KnowledgeDocumentFactory(embedding=[0.5] * EMBEDDING_DIMENSIONS)
        knowledge_document_update(document=document, embedding=None)
        assert stored(document).embedding is None

    def test_rejects_an_embedding_of_the_wrong_length(self):
        document = KnowledgeDocumentFactory()
        with pytest.raises(ValidationError) as error:
            knowledge_document_update(document=document, embedding=[0.5] * 3)
        assert "embedding" in error.value.message_dict

    def test_rejects_unknown_and_read_only_fields(self):
        document = KnowledgeDocumentFactory()
        with pytest.raises(ValidationError) as error:
            knowledge_document_update(document=document, version=9, colour="blue")
        assert set(error.value.message_dict) == {"version", "colour"}

    def test_rejects_invalid_values_and_writes_nothing(self):
        document = KnowledgeDocumentFactory(content="kept")
        with pytest.raises(ValidationError) as error:
            knowledge_document_update(document=document, name="", content="not kept")
        assert "name" in error.value.message_dict
        assert stored(document).content == "kept"
        assert not document.versions.exists()

    def test_works_on_a_soft_deleted_document(self):
        document = KnowledgeDocumentFactory()
        document.soft_delete()
        assert knowledge_document_update(document=document, content="edited while deleted").version == 2


class TestKnowledgeDocumentRestoreVersion:
    @pytest.mark.parametrize("edits", [1, 3])
    def test_restoring_creates_version_n_plus_2_with_the_old_text(self, edits):
        document = KnowledgeDocumentFactory(content="the original text")
        document = edit_n_times(document, edits)
        restored = knowledge_document_restore_version(document=document, version=1)
        assert restored.version == edits + 2
        assert stored(document).content == "the original text"

    def test_restoring_adds_the_replaced_version_to_the_history(self):
        document = edit_n_times(KnowledgeDocumentFactory(content="original"), 2)
        knowledge_document_restore_version(document=document, version=1)
        assert list(document.versions.order_by("version").values_list("version", "content")) == [
            (1, "original"),
            (2, "edit 1"),
            (3, "edit 2"),
        ]

    def test_records_the_user_who_restored(self):
        user = UserFactory()
        document = edit_n_times(KnowledgeDocumentFactory(), 1)
        knowledge_document_restore_version(document=document, version=1, user=user)
        assert document.versions.get(version=2).changed_by == user

    def test_restores_the_content_only(self):
        document = KnowledgeDocumentFactory(name="First name", content="original")
        document = knowledge_document_update(document=document, name="Second name", content="edited")
        knowledge_document_restore_version(document=document, version=1)
        assert (stored(document).name, stored(document).content) == ("Second name", "original")

    def test_rejects_the_current_version(self):
        document = edit_n_times(KnowledgeDocumentFactory(), 1)
        with pytest.raises(ValidationError, match="current version"):
            knowledge_document_restore_version(document=document, version=2)

    @pytest.mark.parametrize("version", [0, 5, -1])
    def test_rejects_a_version_that_does_not_exist(self, version):
        document = edit_n_times(KnowledgeDocumentFactory(), 1)
        with pytest.raises(ValidationError) as error:
            knowledge_document_restore_version(document=document, version=version)
        assert error.value.message_dict == {
            "version": [f"Document has no earlier version {version}. Earlier versions: 1."]
        }

    def test_rejects_a_version_with_the_current_content(self):
        document = KnowledgeDocumentFactory(content="same")
        document = knowledge_document_update(document=document, content="different")
        document = knowledge_document_update(document=document, content="same")
        with pytest.raises(ValidationError, match="same content"):
            knowledge_document_restore_version(document=document, version=1)

    @pytest.mark.parametrize("version", ["1", 1.0, True, None])
    def test_rejects_a_version_that_is_not_an_integer(self, version):
        document = edit_n_times(KnowledgeDocumentFactory(), 1)
        with pytest.raises(ValidationError, match="integer"):
            knowledge_document_restore_version(document=document, version=version)
        assert stored(document).version == 2
