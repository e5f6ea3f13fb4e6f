"""The knowledge admin as a search console: ranked full-text search, version history, embedding status."""

import pytest

from gateway.tests.admin_helpers import change_url, changelist_url, messages_of, run_action
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument, KnowledgeDocumentVersion
from knowledge.services import knowledge_document_update
from knowledge.tests.corpus import FUZZY_QUERIES, create_corpus

pytestmark = pytest.mark.django_db


def listed(response) -> list[str]:
    return [row.name for row in response.context["cl"].result_list]


def searched(client, query: str) -> list[str]:
    """The names the knowledge changelist lists for the search ``query``, in order."""
    return listed(client.get(changelist_url(KnowledgeDocument, q=query)))


@pytest.fixture
def corpus():
    return create_corpus()


class TestRankedSearch:
    def test_the_best_full_text_match_comes_first(self, admin_client, corpus):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="budget"))
        assert response.status_code == 200
        expected = [document.name for document in KnowledgeDocument.objects.text_search("budget")]
        assert listed(response) == expected
        assert listed(response)[0] == "Daily Budget Pacing"

    def test_a_name_match_outranks_a_content_match(self, admin_client):
        KnowledgeDocumentFactory(name="Notes", description="", content="Everything about zebras.")
        KnowledgeDocumentFactory(name="Zebras", description="", content="Everything about stripes.")
        assert listed(admin_client.get(changelist_url(KnowledgeDocument, q="zebra"))) == ["Zebras", "Notes"]

    def test_web_search_syntax_works_in_the_search_box(self, admin_client, corpus):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="retargeting -tiktok"))
        assert listed(response) == ["Meta Retargeting Audiences"]

    def test_a_clicked_column_wins_over_the_rank(self, admin_client, corpus):
        # Column 2 of list_display is the name.
        response = admin_client.get(changelist_url(KnowledgeDocument, q="budget", o="2"))
        assert listed(response) == sorted(listed(response))

    def test_an_id_search_still_finds_the_document(self, admin_client, corpus):
        document = corpus["Attribution Windows"]
        response = admin_client.get(changelist_url(KnowledgeDocument, q=str(document.pk)[:8]))
        assert listed(response) == ["Attribution Windows"]


class TestTheApisSearchInTheSearchBox:
    def test_budget_pacing_finds_the_pacing_document_first(self, admin_client, corpus):
        assert (
            listed(admin_client.get(changelist_url(KnowledgeDocument, q="budget pacing")))[0] == "Daily Budget Pacing"
        )

    @pytest.mark.parametrize(("query", "meant"), FUZZY_QUERIES.items())
    def test_a_misspelt_title_finds_the_document(self, admin_client, corpus, query, meant):
        assert meant in searched(admin_client, query)

    def test_full_text_matches_come_before_fuzzy_name_matches(self, admin_client):
        KnowledgeDocumentFactory(name="Pacing", description="", content="Nothing relevant here.")
        KnowledgeDocumentFactory(name="Notes", description="", content="Spend pacing through the day.")
        assert searched(admin_client, "spend pacing") == ["Notes", "Pacing"]

    def test_searching_adds_the_rank_and_snippet_columns(self, admin_client, corpus):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="budget pacing"))
        columns = response.context["cl"].list_display
        assert columns[columns.index("name") + 1 :][:2] == ["search_rank_display", "snippet"]
        assert '<span class="gv-snippet">' in response.content.decode()
        assert "<mark>" in response.content.decode()

    def test_the_rank_numbers_the_rows_best_first(self, admin_client, corpus):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="budget"))
        ranks = [row.search_rank for row in response.context["cl"].result_list]
        assert ranks == list(range(1, len(ranks) + 1))

    def test_no_rank_or_snippet_without_a_search(self, admin_client, corpus):
        response = admin_client.get(changelist_url(KnowledgeDocument))
        assert "snippet" not in response.context["cl"].list_display

    def test_the_deleted_filter_applies_to_the_search(self, admin_client, corpus):
        corpus["Daily Budget Pacing"].soft_delete()
        assert "Daily Budget Pacing" not in searched(admin_client, "pacing")
        deleted = admin_client.get(changelist_url(KnowledgeDocument, q="pacing", deleted="yes"))
        assert listed(deleted) == ["Daily Budget Pacing"]

    def test_a_query_the_api_would_refuse_is_a_message_not_an_error(self, admin_client, corpus):
        response = admin_client.get(changelist_url(KnowledgeDocument, q="budget " * 200))
        assert response.status_code == 200
        assert listed(response) == []
        assert any("Must be at most 1000 characters" in message for message in messages_of(response))

    def test_the_query_count_does_not_grow_with_the_hits(self, admin_client, corpus, django_assert_max_num_queries):
        with django_assert_max_num_queries(16):
            admin_client.get(changelist_url(KnowledgeDocument, q="budget"))


@pytest.fixture
def edited(admin_user):
    document = KnowledgeDocumentFactory(
        name="Hook patterns", content="first text", tags=["hooks", "video"], embedding=[0.1] * EMBEDDING_DIMENSIONS
    )
    document = knowledge_document_update(document=document, user=admin_user, content="second text")
    return knowledge_document_update(document=document, user=admin_user, content="third text")


class TestChangePage:
    def test_shows_the_tags(self, admin_client, edited):
        response = admin_client.get(change_url(KnowledgeDocument, edited.pk))
        assert 'value="hooks,video"' in response.content.decode()

    def test_shows_the_version_history_newest_first(self, admin_client, edited, admin_user):
        response = admin_client.get(change_url(KnowledgeDocument, edited.pk))
        formset = next(
            inline.formset
            for inline in response.context["inline_admin_formsets"]
            if inline.opts.model is KnowledgeDocumentVersion
        )
        assert [form.instance.version for form in formset.forms] == [2, 1]
        assert admin_user.email in response.content.decode()

    @pytest.mark.parametrize(
        ("embedding", "text"), [([0.1] * EMBEDDING_DIMENSIONS, "Computed"), (None, "Not computed")]
    )
    def test_says_whether_an_embedding_is_present(self, admin_client, embedding, text):
        document = KnowledgeDocumentFactory(embedding=embedding)
        assert text in admin_client.get(change_url(KnowledgeDocument, document.pk)).content.decode()

    def test_an_edit_keeps_the_previous_version_with_the_staff_user(self, admin_client, admin_user):
        from gateway.tests.admin_helpers import form_data

        document = KnowledgeDocumentFactory(content="before")
        page = admin_client.get(change_url(KnowledgeDocument, document.pk))
        data = {**form_data(page), "content": "after"}
        response = admin_client.post(change_url(KnowledgeDocument, document.pk), data)
        assert response.status_code == 302
        previous = KnowledgeDocumentVersion.objects.get(document=document)
        assert (previous.content, previous.changed_by) == ("before", admin_user)


def test_the_restore_action_creates_a_new_version_with_the_old_text(admin_client, edited, admin_user):
    version = KnowledgeDocumentVersion.objects.get(document=edited, version=1)
    response = run_action(admin_client, KnowledgeDocumentVersion, "restore_version", [version], apply="1", confirm="on")
    assert any("as version 4" in message for message in messages_of(response))
    document = KnowledgeDocument.objects.get(pk=edited.pk)
    assert (document.version, document.content) == (4, "first text")
    assert KnowledgeDocumentVersion.objects.get(document=edited, version=3).changed_by == admin_user
