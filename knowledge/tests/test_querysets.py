"""Named reads of knowledge documents: who may read them, live and deleted ones, categories, tags, versions."""

import pytest
from django.contrib.auth.models import AnonymousUser

from knowledge.choices import EmbeddingState
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeDocument, KnowledgeDocumentVersion
from users.factories import AdminUserFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestVisibleTo:
    def test_every_authenticated_user_reads_every_live_document(self):
        documents = {KnowledgeDocumentFactory().pk, KnowledgeDocumentFactory().pk}
        KnowledgeDocumentFactory().soft_delete()
        for user in (UserFactory(), AdminUserFactory()):
            assert set(KnowledgeDocument.objects.visible_to(user).values_list("pk", flat=True)) == documents

    def test_an_anonymous_caller_reads_none(self):
        KnowledgeDocumentFactory()
        assert list(KnowledgeDocument.objects.visible_to(AnonymousUser())) == []
        assert list(KnowledgeDocument.objects.visible_to(None)) == []


def test_alive_and_deleted_split_the_documents():
    live, gone = KnowledgeDocumentFactory(), KnowledgeDocumentFactory()
    gone.soft_delete()
    assert list(KnowledgeDocument.all_objects.alive()) == [live]
    assert list(KnowledgeDocument.all_objects.deleted()) == [gone]


def test_in_category():
    guide = KnowledgeDocumentFactory(category="guides")
    KnowledgeDocumentFactory(category="best-practices")
    assert list(KnowledgeDocument.objects.in_category("guides")) == [guide]


def test_with_any_tag_and_with_all_tags():
    both = KnowledgeDocumentFactory(tags=["video", "ads"])
    video = KnowledgeDocumentFactory(tags=["video"])
    KnowledgeDocumentFactory(tags=["audio"])
    assert set(KnowledgeDocument.objects.with_any_tag(["video", "ads"])) == {both, video}
    assert list(KnowledgeDocument.objects.with_all_tags(["video", "ads"])) == [both]


def test_with_embedding():
    embedded = KnowledgeDocumentFactory(embedding=[0.1] * 1536)
    KnowledgeDocumentFactory(embedding=None)
    assert list(KnowledgeDocument.objects.with_embedding()) == [embedded]


def test_text_search_ranks_matches_best_first():
    title = KnowledgeDocumentFactory(name="Hook retention", description="Other.", content="Other words.")
    body = KnowledgeDocumentFactory(name="Notes", description="Other.", content="A hook in passing.")
    KnowledgeDocumentFactory(name="Budgets", description="Pacing.", content="Spend evenly.")
    found = list(KnowledgeDocument.objects.text_search("hook"))
    assert found == [title, body]
    assert found[0].search_rank > found[1].search_rank


def test_of_document_lists_earlier_versions_newest_first():
    document = KnowledgeDocumentFactory(content="First.")
    for content in ("Second.", "Third."):
        document.content = content
        document.save()
    KnowledgeDocumentFactory()
    versions = list(KnowledgeDocumentVersion.objects.of_document(document))
    assert [version.version for version in versions] == sorted((version.version for version in versions), reverse=True)
    assert [version.content for version in versions] == ["Second.", "First."]


def test_embedding_failed():
    failed = KnowledgeDocumentFactory()
    KnowledgeDocument.objects.filter(pk=failed.pk).update(embedding_state=EmbeddingState.FAILED)
    KnowledgeDocumentFactory()
    assert list(KnowledgeDocument.objects.embedding_failed()) == [failed]
