"""The knowledge-document endpoints: read for everyone authenticated, write for ADMIN users.

The CRUD and soft-delete tests come from ``gateway/tests/resource_cases.py``; what follows the declaration is
what only knowledge documents do.
"""

import pytest

from gateway.tests.api_helpers import ids
from gateway.tests.resource_cases import ResourceCases, SoftDeleteCases, names_in
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/knowledge-documents/"


def document_payload(**overrides):
    return {
        "name": "Hook length",
        "description": "How long a hook should be",
        "content": "Keep the hook under three seconds.",
        "category": "best-practices",
        "tags": ["hooks", "video"],
        "source": "internal",
        "author": "Research",
        "metadata": {"reviewed": True},
        **overrides,
    }


def embedding(value=0.01):
    return [value] * EMBEDDING_DIMENSIONS


class TestDocuments(ResourceCases, SoftDeleteCases):
    url = DOCUMENTS
    model = KnowledgeDocument
    factory = KnowledgeDocumentFactory
    admin_writes = True
    payload = staticmethod(document_payload)
    update_changes = {"name": "Renamed"}
    created = {"version": 1, "has_embedding": False}
    partial_payload = {"category": "other"}
    invalid_values = [
        ("name", ""),
        ("content", None),
        ("category", "x" * 101),
        ("tags", ["x" * 101]),
        ("tags", "not-a-list"),
        ("metadata", [1]),
        ("embedding", [0.1, 0.2]),
        ("embedding", [0.0] * EMBEDDING_DIMENSIONS),
        ("embedding", ["a"] * EMBEDDING_DIMENSIONS),
    ]

    def make(self, owner, **fields):
        """A document (nobody owns one) with an embedding."""
        return KnowledgeDocumentFactory(embedding=embedding(), **fields)

    def retrieved(self, row):
        return {"id": str(row.pk), "name": row.name, "version": 1, "has_embedding": True}

    def test_every_user_lists_every_document(self, user_client):
        documents = KnowledgeDocumentFactory.create_batch(2)
        assert ids(user_client.get(DOCUMENTS)) == {str(document.pk) for document in documents}

    def test_vectors_are_not_shown(self, user_client):
        document = self.make(None)
        listed = user_client.get(DOCUMENTS).json()["results"][0]
        shown = user_client.get(self.detail(document)).json()
        assert listed["has_embedding"] is True
        assert not {"embedding", "search_vector"} & (set(listed) | set(shown))

    def test_users_cannot_write(self, user_client):
        document = KnowledgeDocumentFactory()
        assert user_client.post(DOCUMENTS, document_payload()).status_code == 403
        assert user_client.put(self.detail(document), document_payload()).status_code == 403
        assert user_client.patch(self.detail(document), {"name": "x"}).status_code == 403
        assert user_client.delete(self.detail(document)).status_code == 403
        assert KnowledgeDocument.objects.filter(pk=document.pk, deleted_at__isnull=True).exists()

    def test_admin_creates_a_document_with_an_embedding(self, admin_client_api):
        response = admin_client_api.post(DOCUMENTS, document_payload(embedding=embedding()))
        assert response.json()["has_embedding"] is True
        assert KnowledgeDocument.objects.get(pk=response.json()["id"]).embedding is not None

    def test_changing_the_content_raises_the_version(self, admin_client_api):
        document = KnowledgeDocumentFactory()
        response = admin_client_api.patch(self.detail(document), {"content": "New advice.", "version": 10})
        assert response.status_code == 200
        assert response.json()["version"] == 2

    def test_partial_update_keeps_the_embedding(self, admin_client_api):
        document = self.make(None)
        assert admin_client_api.patch(self.detail(document), {"category": "other"}).json()["has_embedding"] is True

    def test_embedding_can_be_cleared(self, admin_client_api):
        document = self.make(None)
        assert admin_client_api.patch(self.detail(document), {"embedding": None}).json()["has_embedding"] is False


class TestFilters:
    @pytest.fixture
    def documents(self):
        return {
            "a": KnowledgeDocumentFactory(category="hooks", tags=["video", "short"], name="Alpha"),
            "b": KnowledgeDocumentFactory(category="copy", tags=["text"], name="Beta"),
            "c": KnowledgeDocumentFactory(category="audio", tags=["video", "music"], name="Gamma"),
        }

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
        assert names_in(documents, user_client.get(DOCUMENTS, params)) == expected

    def test_version_filters(self, documents, user_client):
        document = documents["b"]
        document.content = "changed"
        document.save()
        assert names_in(documents, user_client.get(DOCUMENTS, {"version": 2})) == {"b"}
        assert names_in(documents, user_client.get(DOCUMENTS, {"version__in": "1"})) == {"a", "c"}
        assert names_in(documents, user_client.get(DOCUMENTS, {"version_min": 2})) == {"b"}
        assert names_in(documents, user_client.get(DOCUMENTS, {"version_max": 1})) == {"a", "c"}

    def test_ordering_by_name(self, documents, user_client):
        rows = user_client.get(DOCUMENTS, {"ordering": "-name"}).json()["results"]
        assert [row["name"] for row in rows] == ["Gamma", "Beta", "Alpha"]
