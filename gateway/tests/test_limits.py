"""The API's limits: each answers with a 400 or a 413 and a message, never a 500 or a silent truncation.

| limit | value | answer |
| --- | --- | --- |
| request body | ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) | 413 ``{"detail"}`` before the body is read whole |
| knowledge search body | ``KNOWLEDGE_SEARCH_MAX_BODY_BYTES`` (256 KB) | 413 ``{"detail"}`` |
| page size | 100 (``page_size`` above it is capped) | 200 with 100 rows; not a positive integer: 400 |
| page | past the last one | 404 ``{"detail"}`` |
| ingest batch | 1,000 items (conversions and performance metrics) | 400 naming the field |
| JSON nesting | ``MAX_JSON_DEPTH`` (64) levels | 400 ``{"detail"}`` |
| embedding | exactly 1,536 numbers | 400 naming the field |
"""

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from rest_framework.test import APIClient

from gateway.api.exceptions import exception_handler
from gateway.api.renderers import MAX_JSON_DEPTH
from gateway.tests.api_helpers import client_for, error_body
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import EMBEDDING_DIMENSIONS, KnowledgeDocument
from media.factories import AssetFactory

pytestmark = pytest.mark.django_db

ASSETS = "/api/v1/assets/"
DOCUMENTS = "/api/v1/knowledge-documents/"
SEARCH = f"{DOCUMENTS}search/"
CONVERSIONS_INGEST = "/api/v1/conversions/ingest/"
METRICS_INGEST = "/api/v1/performance-metrics/ingest/"


def post_raw(client: APIClient, url: str, body: bytes, **extra):
    return client.generic("POST", url, body, content_type="application/json", **extra)


def nested(depth: int):
    """A JSON value ``depth`` levels deep (objects and lists alternating)."""
    value = 1
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


class TestRequestBodySize:
    def test_a_body_over_the_limit_is_a_413_with_a_message(self, user_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = post_raw(user_client, ASSETS, json.dumps({"filename": "x" * 2000}).encode())
        assert response.status_code == 413
        assert error_body(response) == {"detail": "The request body is larger than 1000 bytes."}

    def test_a_declared_length_over_the_limit_is_refused_before_reading(self, user_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = post_raw(user_client, ASSETS, b"{}", CONTENT_LENGTH="5000000")
        assert response.status_code == 413

    def test_a_body_at_the_limit_is_read(self, user_client, settings):
        body = json.dumps({"filename": "x" * 100}).encode()
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
        response = post_raw(user_client, ASSETS, body)
        assert response.status_code == 400  # read and validated: the other fields are missing
        assert "filename" not in response.json()

    def test_the_default_limit_is_django_s_and_fits_a_full_ingest_batch(self, settings):
        assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
        item = {"campaign": "5c4e0000-0000-4000-8000-000000000007", "external_id": "x" * 40, "value": "12.34"}
        assert len(json.dumps({"conversions": [item] * 1000})) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def test_django_s_own_body_limit_is_answered_413_too(self):
        response = exception_handler(RequestDataTooBig("too big"), {})
        assert response.status_code == 413
        assert response.data == {"detail": "The request body is larger than 2621440 bytes."}

    def test_knowledge_search_keeps_its_smaller_limit(self, user_client, settings):
        settings.KNOWLEDGE_SEARCH_MAX_BODY_BYTES = 1000
        response = post_raw(user_client, SEARCH, json.dumps({"query": "x" * 2000}).encode())
        assert response.status_code == 413
        assert "detail" in response.json()


class TestPageSize:
    def test_page_size_above_100_is_capped_at_100(self, user_client):
        KnowledgeDocument.objects.bulk_create(
            KnowledgeDocumentFactory.build(name=f"Document {number}") for number in range(101)
        )
        data = user_client.get(DOCUMENTS, {"page_size": 1000}).json()
        assert (data["count"], len(data["results"])) == (101, 100)
        assert "page_size=100" in data["next"]

    @pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5"])
    def test_a_page_size_that_is_not_a_positive_integer_is_a_400(self, user_client, value):
        response = user_client.get(DOCUMENTS, {"page_size": value})
        assert response.status_code == 400
        assert error_body(response) == {"page_size": ["A positive integer is required."]}

    def test_a_page_past_the_last_is_a_404(self, user_client):
        KnowledgeDocumentFactory()
        response = user_client.get(DOCUMENTS, {"page": 2})
        assert response.status_code == 404
        assert "detail" in response.json()

    def test_the_schema_says_so(self, api_client):
        schema = api_client.get("/api/schema/", {"format": "json"}).json()
        operation = schema["paths"][DOCUMENTS]["get"]
        parameters = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}
        assert parameters["page"]["minimum"] == parameters["page_size"]["minimum"] == 1
        assert "404" in operation["responses"]


class TestIngestBatchSize:
    @pytest.mark.parametrize(("url", "field"), [(CONVERSIONS_INGEST, "conversions"), (METRICS_INGEST, "metrics")])
    def test_more_than_1000_items_is_a_400_naming_the_field(self, user_client, url, field):
        response = user_client.post(url, {field: [{}] * 1001})
        assert response.status_code == 400
        assert error_body(response) == {field: ["Ensure this field has no more than 1000 elements."]}

    @pytest.mark.parametrize(("url", "field"), [(CONVERSIONS_INGEST, "conversions"), (METRICS_INGEST, "metrics")])
    def test_1000_items_are_taken_each_checked_on_its_own(self, user_client, url, field):
        response = user_client.post(url, {field: [None] * 1000})
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert len(errors) == 1000
        assert errors[-1] == {"index": 999, "errors": {"non_field_errors": ["Must be an object."]}}

    def test_the_schema_says_so(self, api_client):
        schema = api_client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
        assert schema["ConversionIngestRequest"]["properties"]["conversions"]["maxItems"] == 1000
        assert schema["PerformanceMetricIngestRequest"]["properties"]["metrics"]["maxItems"] == 1000


class TestJsonDepth:
    def test_json_nested_deeper_than_the_limit_is_a_400(self, user_client):
        body = {"asset": str(AssetFactory().pk), "start_time": 0, "end_time": 1, "metadata": nested(MAX_JSON_DEPTH)}
        response = user_client.post("/api/v1/clips/", body)
        assert response.status_code == 400
        assert error_body(response) == {"detail": f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."}

    def test_json_at_the_limit_is_taken_and_read_back(self, user):
        client = client_for(user)
        # The body object, ``metadata`` and ``deep``'s value: MAX_JSON_DEPTH levels in all.
        metadata = {"deep": nested(MAX_JSON_DEPTH - 2)}
        body = {"asset": str(AssetFactory(user=user).pk), "start_time": 0, "end_time": 1, "metadata": metadata}
        response = client.post("/api/v1/clips/", body)
        assert response.status_code == 201, response.json()
        assert client.get(f"/api/v1/clips/{response.json()['id']}/").json()["metadata"] == metadata

    @pytest.mark.parametrize("depth", [1_000, 100_000])
    def test_json_deeper_than_any_parser_goes_is_a_400_not_a_500(self, user_client, depth):
        response = post_raw(user_client, ASSETS, b"[" * depth + b"]" * depth)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error")

    def test_the_knowledge_search_body_has_the_same_limit(self, user_client):
        response = post_raw(user_client, SEARCH, b"[" * 10_000 + b"]" * 10_000)
        assert response.status_code == 400


class TestEmbeddingLength:
    @pytest.mark.parametrize("length", [0, EMBEDDING_DIMENSIONS - 1, EMBEDDING_DIMENSIONS + 1])
    def test_search_with_an_embedding_of_the_wrong_length_is_a_400(self, user_client, length):
        response = user_client.post(SEARCH, {"embedding": [0.1] * length})
        assert response.status_code == 400
        assert error_body(response) == {
            "embedding": [f"Must have exactly {EMBEDDING_DIMENSIONS} values, got {length}."]
        }

    @pytest.mark.parametrize("length", [EMBEDDING_DIMENSIONS - 1, EMBEDDING_DIMENSIONS + 1])
    def test_a_document_with_an_embedding_of_the_wrong_length_is_a_400(self, admin_client_api, length):
        document = KnowledgeDocumentFactory()
        response = admin_client_api.patch(f"{DOCUMENTS}{document.pk}/", {"embedding": [0.1] * length})
        assert response.status_code == 400
        assert error_body(response) == {
            "embedding": [f"Must have exactly {EMBEDDING_DIMENSIONS} values, got {length}."]
        }

    def test_an_embedding_of_the_right_length_is_stored(self, admin_client_api):
        document = KnowledgeDocumentFactory()
        response = admin_client_api.patch(f"{DOCUMENTS}{document.pk}/", {"embedding": [0.1] * EMBEDDING_DIMENSIONS})
        assert response.status_code == 200
        assert response.json()["has_embedding"] is True

    def test_the_schema_says_so(self, api_client):
        schema = api_client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
        for component in ("KnowledgeSearchRequest", "KnowledgeDocumentRequest", "PatchedKnowledgeDocumentRequest"):
            embedding = schema[component]["properties"]["embedding"]
            assert embedding["minItems"] == embedding["maxItems"] == EMBEDDING_DIMENSIONS
