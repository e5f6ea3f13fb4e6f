"""The knowledge-document endpoints: read for everyone authenticated, write for ADMIN users."""

import datetime

import pytest
from django.utils import timezone

from gateway.tests.api_helpers import ids
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/knowledge-documents/"


def url(document, action=None):
    return f"{DOCUMENTS}{document.pk}/" + (f"{action}/" if action else "")


def document_payload(**overrides):
    payload = {
        "name": "Hook length",
        "description": "How long a hook should be",
        "content": "Keep the hook under three seconds.",
        "category": "best-practices",
        "tags": ["hooks", "video"],
        "source": "internal",
        "author": "Research",
        "metadata": {"reviewed": True},
    }
    payload.update(overrides)
    return payload


def embedding(value=0.01):
    return [value] * EMBEDDING_DIMENSIONS


class TestReading:
    def test_every_user_lists_every_document(self, user_client):
        documents = KnowledgeDocumentFactory.create_batch(2)
        assert ids(user_client.get(DOCUMENTS)) == {str(document.pk) for document in documents}

    def test_retrieve(self, user_client):
        document = KnowledgeDocumentFactory(embedding=embedding())
        data = user_client.get(url(document)).json()
        assert (data["name"], data["version"], data["has_embedding"]) == (document.name, 1, True)
        assert "embedding" not in data
        assert "search_vector" not in data

    @pytest.mark.parametrize("rows", [3, 30])
    def test_list_runs_a_fixed_number_of_queries(self, user_client, rows, django_assert_max_num_queries):
        KnowledgeDocumentFactory.create_batch(rows, embedding=embedding())
        with django_assert_max_num_queries(4):
            data = user_client.get(DOCUMENTS, {"page_size": 100}).json()
        assert data["count"] == rows
        assert all(row["has_embedding"] for row in data["results"])


class TestWriting:
    def test_users_cannot_write(self, user_client):
        document = KnowledgeDocumentFactory()
        assert user_client.post(DOCUMENTS, document_payload()).status_code == 403
        assert user_client.put(url(document), document_payload()).status_code == 403
        assert user_client.patch(url(document), {"name": "x"}).status_code == 403
        assert user_client.delete(url(document)).status_code == 403
        assert KnowledgeDocument.objects.filter(pk=document.pk, deleted_at__isnull=True).exists()

    def test_admin_creates_a_document(self, admin_client_api):
        response = admin_client_api.post(DOCUMENTS, document_payload())
        assert response.status_code == 201
        data = response.json()
        assert (data["version"], data["has_embedding"], data["tags"]) == (1, False, ["hooks", "video"])

    def test_admin_creates_a_document_with_an_embedding(self, admin_client_api):
        response = admin_client_api.post(DOCUMENTS, document_payload(embedding=embedding()))
        assert response.json()["has_embedding"] is True
        assert KnowledgeDocument.objects.get(pk=response.json()["id"]).embedding is not None

    def test_changing_the_content_raises_the_version(self, admin_client_api):
        document = KnowledgeDocumentFactory()
        response = admin_client_api.patch(url(document), {"content": "New advice.", "version": 10})
        assert response.status_code == 200
        assert response.json()["version"] == 2

    def test_update(self, admin_client_api):
        document = KnowledgeDocumentFactory()
        response = admin_client_api.put(url(document), document_payload(name="Renamed"))
        assert response.status_code == 200
        assert KnowledgeDocument.objects.get(pk=document.pk).name == "Renamed"

    def test_partial_update_keeps_the_embedding(self, admin_client_api):
        document = KnowledgeDocumentFactory(embedding=embedding())
        assert admin_client_api.patch(url(document), {"category": "other"}).json()["has_embedding"] is True

    def test_embedding_can_be_cleared(self, admin_client_api):
        document = KnowledgeDocumentFactory(embedding=embedding())
        assert admin_client_api.patch(url(document), {"embedding": None}).json()["has_embedding"] is False

    def test_delete_is_soft_and_restorable(self, admin_client_api, user_client):
        document = KnowledgeDocumentFactory()
        assert admin_client_api.delete(url(document)).status_code == 204
        assert user_client.get(url(document)).status_code == 404
        assert admin_client_api.post(url(document, "restore")).status_code == 200
        assert user_client.get(url(document)).status_code == 200

    def test_users_cannot_restore(self, user_client):
        document = KnowledgeDocumentFactory()
        document.soft_delete()
        assert user_client.post(url(document, "restore")).status_code == 403

    def test_admin_hard_deletes(self, admin_client_api):
        document = KnowledgeDocumentFactory()
        assert admin_client_api.delete(url(document) + "?hard=true").status_code == 204
        assert not KnowledgeDocument.all_objects.filter(pk=document.pk).exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", ""),
            ("content", None),
            ("category", "x" * 101),
            ("tags", ["x" * 101]),
            ("tags", "not-a-list"),
            ("metadata", [1]),
            ("embedding", [0.1, 0.2]),
            ("embedding", [0.0] * EMBEDDING_DIMENSIONS),
            ("embedding", ["a"] * EMBEDDING_DIMENSIONS),
        ],
    )
    def test_invalid_values_are_400_naming_the_field(self, admin_client_api, field, value):
        response = admin_client_api.post(DOCUMENTS, document_payload(**{field: value}))
        assert response.status_code == 400
        assert field in response.json()


class TestFilters:
    @pytest.fixture
    def documents(self):
        return {
            "a": KnowledgeDocumentFactory(category="hooks", tags=["video", "short"], name="Alpha"),
            "b": KnowledgeDocumentFactory(category="copy", tags=["text"], name="Beta"),
            "c": KnowledgeDocumentFactory(category="audio", tags=["video", "music"], name="Gamma"),
        }

    def _names(self, documents, response):
        by_id = {str(document.pk): name for name, document in documents.items()}
        return {by_id[row_id] for row_id in ids(response)}

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"category": "copy"}, {"b"}),
            ({"category__in": "hooks,audio"}, {"a", "c"}),
            ({"tags": "video"}, {"a", "c"}),
            ({"tags": "video,music"}, {"c"}),
            ({"tags__overlap": "text,short"}, {"a", "b"}),
            ({"search": "gamm"}, {"c"}),
        ],
    )
    def test_filter(self, documents, user_client, params, expected):
        assert self._names(documents, user_client.get(DOCUMENTS, params)) == expected

    def test_version_filters(self, documents, user_client):
        document = documents["b"]
        document.content = "changed"
        document.save()
        assert self._names(documents, user_client.get(DOCUMENTS, {"version": 2})) == {"b"}
        assert self._names(documents, user_client.get(DOCUMENTS, {"version__in": "1"})) == {"a", "c"}
        assert self._names(documents, user_client.get(DOCUMENTS, {"version_min": 2})) == {"b"}
        assert self._names(documents, user_client.get(DOCUMENTS, {"version_max": 1})) == {"a", "c"}

    def test_created_at_range(self, documents, user_client):
        old = KnowledgeDocumentFactory(created_at=timezone.now() - datetime.timedelta(days=5))
        boundary = (timezone.now() - datetime.timedelta(days=1)).isoformat()
        assert ids(user_client.get(DOCUMENTS, {"created_at_before": boundary})) == {str(old.pk)}
        assert str(old.pk) not in ids(user_client.get(DOCUMENTS, {"created_at_after": boundary}))

    def test_is_deleted_for_admin_only(self, documents, admin_client_api, user_client):
        documents["a"].soft_delete()
        assert self._names(documents, admin_client_api.get(DOCUMENTS, {"is_deleted": "true"})) == {"a"}
        assert self._names(documents, user_client.get(DOCUMENTS, {"is_deleted": "true"})) == set()

    def test_ordering_by_name(self, documents, user_client):
        rows = user_client.get(DOCUMENTS, {"ordering": "-name"}).json()["results"]
        assert [row["name"] for row in rows] == ["Gamma", "Beta", "Alpha"]
