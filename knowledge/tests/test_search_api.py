"""The search, full-text list, versions and restore-version endpoints of knowledge documents."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gateway.tests.api_helpers import client_for, refusal
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from knowledge.services import knowledge_document_update
from knowledge.tests.corpus import create_corpus, query_embedding_near
from users.factories import UserFactory

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/knowledge-documents/"
SEARCH = f"{DOCUMENTS}search/"
VALID_EMBEDDING = [0.01] * EMBEDDING_DIMENSIONS


def versions_url(document) -> str:
    return f"{DOCUMENTS}{document.pk}/versions/"


def restore_url(document) -> str:
    return f"{DOCUMENTS}{document.pk}/restore-version/"


@pytest.fixture
def corpus():
    return create_corpus()


def result_names(response) -> list[str]:
    return [result["name"] for result in response.json()["results"]]


class TestSearch:
    def test_text_search_finds_the_relevant_document_first(self, user_client, corpus):
        response = user_client.post(SEARCH, {"query": "hook rate"}, format="json")
        assert response.status_code == 200
        assert response.json()["mode"] == "text"
        assert result_names(response)[0] == "Hook Rate: The First Three Seconds"

    def test_hybrid_search_returns_the_documented_result_shape(self, user_client, corpus):
        embedding = query_embedding_near("Daily Budget Pacing")
        response = user_client.post(SEARCH, {"query": "budget", "embedding": embedding, "k": 3}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert body["mode"] == "hybrid"
        assert len(body["results"]) == 3
        best = body["results"][0]
        assert set(best) == {
            "id",
            "name",
            "category",
            "tags",
            "score",
            "text_rank",
            "vector_rank",
            "text_score",
            "distance",
            "chunk",
            "snippet",
        }
        assert best["id"] == str(corpus["Daily Budget Pacing"].pk)
        assert (best["text_rank"], best["vector_rank"]) == (1, 1)
        assert "<mark>budget</mark>" in best["snippet"]

    def test_vector_search_with_filters(self, user_client, corpus):
        payload = {
            "embedding": query_embedding_near("Daily Budget Pacing"),
            "category": "tiktok",
            "tags": ["audiences", "spark"],
            "tags_mode": "any",
            "k": 100,
        }
        response = user_client.post(SEARCH, payload, format="json")
        assert response.status_code == 200
        results = response.json()["results"]
        assert {result["name"] for result in results} == {"TikTok Spark Ads", "TikTok Retargeting Audiences"}
        assert all(result["text_rank"] is None for result in results)

    def test_fuzzy_mode_finds_a_misspelt_name(self, user_client, corpus):
        response = user_client.post(SEARCH, {"query": "Meta Adz optimisation", "mode": "fuzzy"}, format="json")
        assert result_names(response)[0] == "Meta Ads Optimization Guide"

    def test_deleted_documents_never_appear(self, user_client, corpus):
        corpus["Hook Rate: The First Three Seconds"].soft_delete()
        response = user_client.post(SEARCH, {"query": "hook rate"}, format="json")
        assert "Hook Rate: The First Three Seconds" not in result_names(response)

    def test_anonymous_requests_are_refused(self, api_client, corpus):
        assert api_client.post(SEARCH, {"query": "budget"}, format="json").status_code == 401

    def test_every_role_may_search(self, corpus):
        for role in ("USER", "ENTERPRISE", "ADMIN"):
            client = client_for(UserFactory(role=role))
            assert client.post(SEARCH, {"query": "budget"}, format="json").status_code == 200


class TestSearchBadInput:
    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({"embedding": [0.1] * 3}, "embedding", "exactly 1536 values, got 3"),
            ({"embedding": [0.1] * 2000}, "embedding", "exactly 1536 values, got 2000"),
            ({"embedding": ["a"] * EMBEDDING_DIMENSIONS}, "embedding", "index 0 is not a number"),
            ({"embedding": [None] * EMBEDDING_DIMENSIONS}, "embedding", "index 0 is not a number"),
            ({"embedding": [0.1] * 1535 + [True]}, "embedding", "index 1535 is not a number"),
            ({"embedding": "0.1,0.2"}, "embedding", "list of 1536 numbers"),
            ({"embedding": {"values": [0.1]}}, "embedding", "list of 1536 numbers"),
            ({"embedding": [0.0] * EMBEDDING_DIMENSIONS}, "embedding", "all zeros"),
            ({}, "query", "Give a query, an embedding, or both"),
            ({"query": ""}, "query", "Give a query, an embedding, or both"),
            ({"query": "   "}, "query", "Give a query, an embedding, or both"),
            ({"query": None, "embedding": None}, "query", "Give a query, an embedding, or both"),
            ({"query": "x" * 1001}, "query", "no more than 1000 characters"),
            ({"query": ["budget"]}, "query", "Not a valid string"),
            ({"query": "budget", "k": 0}, "k", "greater than or equal to 1"),
            ({"query": "budget", "k": 101}, "k", "less than or equal to 100"),
            ({"query": "budget", "k": "many"}, "k", "valid integer"),
            ({"query": "budget", "k": 2.5}, "k", "valid integer"),
            ({"query": "budget", "mode": "semantic"}, "mode", "not a valid choice"),
            ({"mode": "vector"}, "embedding", "Mode 'vector' needs an embedding or a query to embed"),
            ({"query": " ", "mode": "vector"}, "embedding", "Mode 'vector' needs an embedding or a query to embed"),
            ({"embedding": VALID_EMBEDDING, "mode": "text"}, "query", "Mode 'text' needs a non-empty query"),
            ({"embedding": VALID_EMBEDDING, "mode": "fuzzy"}, "query", "Mode 'fuzzy' needs a non-empty query"),
            ({"query": "budget", "tags_mode": "some"}, "tags_mode", "not a valid choice"),
            ({"query": "budget", "embedding_model": " "}, "embedding_model", "may not be blank"),
            ({"query": "budget", "tags": "meta"}, "tags", "list of items"),
            ({"query": "budget", "tags": ["t"] * 51}, "tags", "no more than 50"),
            ({"query": "budget", "tags": [" "]}, "tags", "may not be blank"),
            ({"query": "budget", "category": ""}, "category", "may not be blank"),
        ],
    )
    def test_is_a_400_naming_the_field_and_the_problem(self, user_client, payload, field, message):
        response = user_client.post(SEARCH, payload, format="json")
        assert response.status_code == 400
        errors = response.json()
        assert field in errors, errors
        assert message in json.dumps(errors[field]), errors

    @pytest.mark.parametrize(("literal", "message"), [("1e39", "float32 range"), ("-3.5e38", "float32 range")])
    def test_values_beyond_float32_are_a_400_on_the_embedding(self, user_client, literal, message):
        values = ["0.01"] * EMBEDDING_DIMENSIONS
        values[5] = literal
        body = '{"embedding": [' + ",".join(values) + "]}"
        response = user_client.post(SEARCH, body, content_type="application/json")
        assert response.status_code == 400
        assert message in response.json()["embedding"][0]

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400])
    def test_non_finite_numbers_are_a_400(self, user_client, literal):
        values = ["0.01"] * EMBEDDING_DIMENSIONS
        values[5] = literal
        body = '{"embedding": [' + ",".join(values) + "]}"
        response = user_client.post(SEARCH, body, content_type="application/json")
        assert response.status_code == 400

    def test_malformed_json_is_a_400(self, user_client):
        response = user_client.post(SEARCH, '{"query": ', content_type="application/json")
        assert response.status_code == 400

    def test_a_body_over_the_limit_is_a_413(self, user_client, settings):
        settings.KNOWLEDGE_SEARCH_MAX_BODY_BYTES = 1000
        response = user_client.post(SEARCH, {"query": "x" * 2000}, format="json")
        assert response.status_code == 413
        assert "larger than 1000 bytes" in response.json()["detail"]

    def test_a_full_embedding_fits_the_default_limit(self, user_client, corpus):
        embedding = [value + 1e-17 for value in query_embedding_near("Attribution Windows")]
        body = json.dumps({"embedding": embedding, "query": "attribution"}, indent=4)
        response = user_client.post(SEARCH, body, content_type="application/json")
        assert response.status_code == 200


class TestListFullText:
    def test_q_ranks_the_best_match_first(self, user_client, corpus):
        response = user_client.get(DOCUMENTS, {"q": "retargeting audiences"})
        assert response.status_code == 200
        names = result_names(response)
        assert set(names) == {"Meta Retargeting Audiences", "TikTok Retargeting Audiences"}

    def test_q_orders_by_rank(self, user_client, corpus):
        response = user_client.get(DOCUMENTS, {"q": "budget", "page_size": 100})
        names = result_names(response)
        expected = [document.name for document in KnowledgeDocument.objects.text_search("budget")]
        assert names == expected
        assert names[0] == "Daily Budget Pacing"

    def test_q_uses_web_search_syntax(self, user_client, corpus):
        response = user_client.get(DOCUMENTS, {"q": "retargeting -tiktok"})
        assert result_names(response) == ["Meta Retargeting Audiences"]

    def test_an_explicit_ordering_wins_over_rank(self, user_client, corpus):
        response = user_client.get(DOCUMENTS, {"q": "budget", "ordering": "name", "page_size": 100})
        names = result_names(response)
        assert names == sorted(names)

    def test_q_combines_with_filters(self, user_client, corpus):
        response = user_client.get(DOCUMENTS, {"q": "audiences", "category": "tiktok"})
        assert result_names(response) == ["TikTok Retargeting Audiences"]

    def test_q_hides_deleted_documents(self, user_client, corpus):
        corpus["Daily Budget Pacing"].soft_delete()
        assert "Daily Budget Pacing" not in result_names(user_client.get(DOCUMENTS, {"q": "budget"}))

    def test_a_too_long_q_is_a_400(self, user_client):
        response = user_client.get(DOCUMENTS, {"q": "x" * 501})
        assert response.status_code == 400
        assert response.json()["q"] == ["Must be at most 500 characters."]

    def test_q_is_measured_as_sent(self, user_client):
        # The schema's maxLength counts every character, the spaces the search then ignores too.
        assert user_client.get(DOCUMENTS, {"q": "x" * 500}).status_code == 200
        assert user_client.get(DOCUMENTS, {"q": "x" * 500 + " "}).status_code == 400


@pytest.fixture
def edited(admin_user):
    """A document edited twice by an ADMIN: versions 1 and 2 are in its history."""
    document = KnowledgeDocumentFactory(content="first text")
    document = knowledge_document_update(document=document, user=admin_user, content="second text")
    return knowledge_document_update(document=document, user=admin_user, content="third text")


class TestVersions:
    def test_lists_earlier_versions_newest_first(self, user_client, edited, admin_user):
        response = user_client.get(versions_url(edited))
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [(row["version"], row["content"]) for row in rows] == [(2, "second text"), (1, "first text")]
        assert rows[0]["changed_by"] == str(admin_user.pk)
        assert rows[0]["document"] == str(edited.pk)

    def test_costs_the_same_queries_however_many_versions(self, user_client, admin_user):
        def queries_for(edits: int) -> int:
            document = KnowledgeDocumentFactory(content="v1")
            for number in range(edits):
                document = knowledge_document_update(document=document, user=admin_user, content=f"v{number + 2}")
            with CaptureQueriesContext(connection) as captured:
                assert user_client.get(versions_url(document)).status_code == 200
            return len(captured)

        queries_for(1)  # warm-up: the first request of a key also records when it was last used
        assert queries_for(1) == queries_for(6)

    def test_a_document_without_edits_has_no_versions(self, user_client):
        document = KnowledgeDocumentFactory()
        assert user_client.get(versions_url(document)).json()["results"] == []

    def test_an_api_update_records_the_caller(self, admin_client_api, admin_user):
        document = KnowledgeDocumentFactory(content="before")
        response = admin_client_api.patch(f"{DOCUMENTS}{document.pk}/", {"content": "after"}, format="json")
        assert response.status_code == 200
        assert response.json()["version"] == 2
        version = admin_client_api.get(versions_url(document)).json()["results"][0]
        assert (version["content"], version["changed_by"]) == ("before", str(admin_user.pk))

    def test_an_unknown_document_is_a_404(self, user_client):
        assert user_client.get(f"{DOCUMENTS}00000000-0000-4000-8000-000000000000/versions/").status_code == 404

    def test_anonymous_requests_are_refused(self, api_client, edited):
        assert api_client.get(versions_url(edited)).status_code == 401


class TestRestoreVersion:
    def test_an_admin_restores_an_earlier_version_as_a_new_one(self, admin_client_api, edited, admin_user):
        response = admin_client_api.post(restore_url(edited), {"version": 1}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert (body["version"], body["content"]) == (4, "first text")
        replaced = edited.versions.get(version=3)
        assert (replaced.content, replaced.changed_by) == ("third text", admin_user)

    def test_a_user_may_not_restore(self, user_client, edited):
        response = user_client.post(restore_url(edited), {"version": 1}, format="json")
        assert response.status_code == 403
        assert KnowledgeDocument.objects.get(pk=edited.pk).version == 3

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            ({"version": 9}, "no earlier version 9"),
            ({"version": 3}, "current version"),
            ({"version": 0}, "greater than or equal to 1"),
            ({"version": "one"}, "valid integer"),
            ({}, "required"),
        ],
    )
    def test_bad_versions_are_a_400(self, admin_client_api, edited, payload, message):
        assert message in refusal(admin_client_api.post(restore_url(edited), payload, format="json"))["version"][0]

    def test_an_unknown_document_is_a_404(self, admin_client_api):
        url = f"{DOCUMENTS}00000000-0000-4000-8000-000000000000/restore-version/"
        assert admin_client_api.post(url, {"version": 1}, format="json").status_code == 404


class TestSchema:
    def test_documents_the_endpoints(self, user_client):
        from drf_spectacular.generators import SchemaGenerator

        paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
        search = paths["/api/v1/knowledge-documents/search/"]["post"]
        assert search["summary"] == "Search the knowledge base"
        assert "/api/v1/knowledge-documents/{id}/versions/" in paths
        assert "/api/v1/knowledge-documents/{id}/restore-version/" in paths
        list_parameters = {p["name"] for p in paths["/api/v1/knowledge-documents/"]["get"]["parameters"]}
        assert "q" in list_parameters
