import pytest

from gateway.tests.admin_helpers import (
    add_url,
    assert_form_error,
    assert_soft_deleted_and_restored,
    change_url,
    changelist_url,
    each_model,
    form_errors,
    messages_of,
    post_change_form,
    run_action,
    same_query_count,
)
from knowledge.admin import EMBED_NOW_LIMIT
from knowledge.choices import EmbeddingState
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL, KnowledgeDocument, KnowledgeDocumentVersion
from knowledge.services import document_embed

pytestmark = pytest.mark.django_db

MODELS = [KnowledgeDocument, KnowledgeDocumentVersion]


@pytest.fixture
def documents():
    """A document with an embedding and an earlier version, another without, and a soft-deleted one."""
    # Descriptions are fixed: Faker's random sentences could contain the words the searches look for.
    hooks = KnowledgeDocumentFactory(
        name="Hook patterns",
        description="How to open a video.",
        content="Open with motion in the first second.",
        tags=["hooks", "video"],
        embedding=[0.1] * EMBEDDING_DIMENSIONS,
    )
    hooks.content = "Open with motion and a face in the first second."
    hooks.save()
    plain = KnowledgeDocumentFactory(
        name="Budget pacing", description="Daily budgets.", content="Spend evenly across the day.", category="budget"
    )
    deleted = KnowledgeDocumentFactory(name="Old guide", description="Superseded.")
    deleted.soft_delete()
    return {"hooks": hooks, "plain": plain, "deleted": deleted}


class TestPagesRender:
    @each_model(MODELS)
    @pytest.mark.parametrize("params", [{}, {"q": "hook"}, {"q": "0123abcd"}, {"o": "2"}], ids=str)
    def test_changelist(self, admin_client, documents, model, params):
        assert admin_client.get(changelist_url(model, **params)).status_code == 200

    @pytest.mark.parametrize("deleted", ["yes", "all"])
    def test_changelist_with_deleted_rows(self, admin_client, documents, deleted):
        response = admin_client.get(changelist_url(KnowledgeDocument, deleted=deleted))
        assert documents["deleted"].pk in {row.pk for row in response.context["cl"].result_list}

    def test_add_form(self, admin_client, documents):
        assert admin_client.get(add_url(KnowledgeDocument)).status_code == 200

    def test_versions_cannot_be_added(self, admin_client, documents):
        assert admin_client.get(add_url(KnowledgeDocumentVersion)).status_code == 403

    @pytest.mark.parametrize("key", ["hooks", "plain", "deleted"])
    def test_change_form(self, admin_client, documents, key):
        response = admin_client.get(change_url(KnowledgeDocument, documents[key].pk))
        assert response.status_code == 200

    def test_version_page(self, admin_client, documents):
        version = KnowledgeDocumentVersion.objects.get(document=documents["hooks"])
        assert admin_client.get(change_url(KnowledgeDocumentVersion, version.pk)).status_code == 200


class TestChangelist:
    def test_full_text_search_finds_words_of_the_content(self, admin_client, documents):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="evenly"))
        assert [row.pk for row in response.context["cl"].result_list] == [documents["plain"].pk]

    def test_search_by_part_of_the_name(self, admin_client, documents):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="pacin"))
        assert [row.pk for row in response.context["cl"].result_list] == [documents["plain"].pk]

    def test_embedding_filter(self, admin_client, documents):
        response = admin_client.get(changelist_url(KnowledgeDocument, embedding="yes"))
        assert [row.pk for row in response.context["cl"].result_list] == [documents["hooks"].pk]
        assert response.context["cl"].result_list[0].embedding_computed is True

    def test_tag_filter(self, admin_client, documents):
        response = admin_client.get(changelist_url(KnowledgeDocument, tag="hooks"))
        assert [row.pk for row in response.context["cl"].result_list] == [documents["hooks"].pk]

    def test_the_list_does_not_load_content_or_embeddings(self, admin_client, documents):
        row = admin_client.get(changelist_url(KnowledgeDocument)).context["cl"].result_list[0]
        assert {"content", "embedding", "search_vector"} <= row.get_deferred_fields()

    @each_model(MODELS)
    def test_query_count_is_fixed(self, admin_client, model):
        def add(count):
            for _ in range(count):
                document = KnowledgeDocumentFactory()
                document.content += " More."
                document.save()

        add(5)
        with same_query_count(admin_client, changelist_url(model)):
            add(45)

    def test_change_form_query_count_is_fixed(self, admin_client, documents):
        document = documents["hooks"]
        with same_query_count(admin_client, change_url(KnowledgeDocument, document.pk)):
            for index in range(25):
                document.content = f"Revision {index}"
                document.save()


class TestEditing:
    def test_edit_records_the_staff_user_in_the_history(self, admin_client, admin_user, documents):
        document = documents["plain"]
        response = post_change_form(admin_client, document, content="Spend evenly, and watch the pacing.")
        assert response.status_code == 302
        document.refresh_from_db()
        assert document.version == 2
        earlier = KnowledgeDocumentVersion.objects.get(document=document)
        assert (earlier.version, earlier.content, earlier.changed_by) == (1, "Spend evenly across the day.", admin_user)

    def test_bad_metadata_json_is_a_form_error(self, admin_client, documents):
        document = documents["plain"]
        response = post_change_form(admin_client, document, metadata='{"a": }')
        assert_form_error(response, "metadata")

    def test_add_document(self, admin_client):
        response = admin_client.post(
            add_url(KnowledgeDocument),
            {
                "name": "New guide",
                "content": "Text.",
                "category": "guides",
                "tags": "a,b",
                "embedding_model": "text-embedding-3-small",
                "metadata": '{"source": "wiki"}',
                "versions-TOTAL_FORMS": "0",
                "versions-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302, form_errors(response)
        document = KnowledgeDocument.objects.get(name="New guide")
        assert (document.tags, document.metadata, document.version) == (["a", "b"], {"source": "wiki"}, 1)

    def test_restore_version_action(self, admin_client, documents):
        document = documents["hooks"]
        version = KnowledgeDocumentVersion.objects.get(document=document, version=1)
        response = run_action(
            admin_client, KnowledgeDocumentVersion, "restore_version", [version], apply="1", confirm="on"
        )
        assert any("now has the content of version 1 as version 3" in message for message in messages_of(response))
        document.refresh_from_db()
        assert (document.version, document.content) == (3, "Open with motion in the first second.")

    def test_soft_delete_and_restore_document(self, admin_client, documents):
        assert_soft_deleted_and_restored(admin_client, documents["plain"])


class TestChunkEmbeddings:
    def test_embed_action_embeds_the_selected_documents(self, admin_client, documents):
        document = documents["plain"]
        response = run_action(admin_client, KnowledgeDocument, "embed_selected", [document])
        assert "1 document(s) embedded." in messages_of(response)
        document.refresh_from_db()
        assert document.embedding_state == EmbeddingState.READY
        change = admin_client.get(change_url(KnowledgeDocument, document.pk))
        assert f"1 of {LOCAL_EMBEDDING_MODEL}" in change.content.decode()

    def test_embed_action_refuses_too_many_documents(self, admin_client):
        many = KnowledgeDocumentFactory.create_batch(EMBED_NOW_LIMIT + 1)
        response = run_action(admin_client, KnowledgeDocument, "embed_selected", many)
        assert any("embed_documents" in message for message in messages_of(response))
        assert not KnowledgeDocument.objects.filter(embedding_state=EmbeddingState.READY).exists()

    def test_state_filter(self, admin_client, documents):
        document_embed(document_id=documents["plain"].pk)
        response = admin_client.get(changelist_url(KnowledgeDocument, embedding_state__exact="READY"))
        assert [row.pk for row in response.context["cl"].result_list] == [documents["plain"].pk]

    def test_a_content_edit_in_the_admin_makes_the_embedding_stale(self, admin_client, documents):
        document = documents["plain"]
        document_embed(document_id=document.pk)
        post_change_form(admin_client, document, content="Spend more in the evening.")
        document.refresh_from_db()
        assert document.embedding_state == EmbeddingState.STALE
