"""The shared API plumbing: authentication, errors, pagination, throttling, schema and docs."""

import base64
import datetime
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import DataError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from campaigns.factories import CampaignFactory, ConversionFactory
from gateway.api.exceptions import exception_handler
from gateway.api.throttling import ApiKeyRateThrottle, RateLimit
from gateway.paginator import EstimatedCountPaginator
from gateway.tests.api_helpers import client_for, error_body
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeDocument
from media.factories import AssetFactory
from users.factories import ApiKeyFactory, UserFactory
from users.models import ApiKey
from users.services import api_key_revoke

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


class TestApiKeyAuthentication:
    def test_authorization_header_authenticates(self, user):
        key = ApiKeyFactory(user=user)
        response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Api-Key {key.secret}")
        assert response.status_code == 200
        assert response.json()["id"] == str(user.pk)

    def test_x_api_key_header_authenticates(self, user):
        key = ApiKeyFactory(user=user)
        response = APIClient().get(ME, HTTP_X_API_KEY=key.secret)
        assert response.status_code == 200
        assert response.json()["email"] == user.email

    def test_scheme_is_case_insensitive(self, user):
        key = ApiKeyFactory(user=user)
        assert APIClient().get(ME, HTTP_AUTHORIZATION=f"api-key {key.secret}").status_code == 200

    def test_anonymous_request_is_401_with_www_authenticate(self, api_client):
        response = api_client.get(ME)
        assert response.status_code == 401
        assert error_body(response) == {"detail": "Authentication credentials were not provided."}
        assert response["WWW-Authenticate"].startswith("Api-Key")

    def test_unknown_key_is_401(self, api_client):
        response = api_client.get(ME, HTTP_AUTHORIZATION="Api-Key gv_thisisnotarealkeyatall000000000000000000000")
        assert response.status_code == 401
        assert error_body(response) == {"detail": "Invalid, revoked or expired API key."}
        assert "WWW-Authenticate" in response

    def test_key_with_right_prefix_but_wrong_secret_is_401(self, user, api_client):
        key = ApiKeyFactory(user=user)
        response = api_client.get(ME, HTTP_X_API_KEY=key.secret[:-1] + ("a" if key.secret[-1] != "a" else "b"))
        assert response.status_code == 401

    def test_empty_api_key_header_is_401(self, api_client):
        assert api_client.get(ME, HTTP_AUTHORIZATION="Api-Key ").status_code == 401

    def test_other_authorization_scheme_is_not_authenticated(self, api_client):
        assert api_client.get(ME, HTTP_AUTHORIZATION="Bearer something").status_code == 401

    def test_revoked_key_is_401(self, user, api_client):
        key = ApiKeyFactory(user=user)
        api_key_revoke(api_key=key)
        assert api_client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_expired_key_is_401(self, user, api_client):
        key = ApiKeyFactory(user=user, expires_at=timezone.now() - datetime.timedelta(seconds=1))
        assert api_client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_key_of_inactive_user_is_401(self, api_client):
        key = ApiKeyFactory(user=UserFactory(is_active=False))
        assert api_client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_key_of_soft_deleted_user_is_401(self, user, api_client):
        key = ApiKeyFactory(user=user)
        user.soft_delete()
        assert api_client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_last_used_at_is_written_at_most_once_a_minute(self, user, api_client, django_assert_num_queries):
        key = ApiKeyFactory(user=user)
        api_client.get(ME, HTTP_X_API_KEY=key.secret)
        first = ApiKey.objects.get(pk=key.pk).last_used_at
        assert first is not None
        with django_assert_num_queries(1):  # the key lookup only: no UPDATE
            api_client.get(ME, HTTP_X_API_KEY=key.secret)
        assert ApiKey.objects.get(pk=key.pk).last_used_at == first

    def test_session_authentication_serves_the_browsable_api(self, user):
        client = APIClient()
        client.force_login(user)
        response = client.get(ME, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert b"<html" in response.content.lower()


class TestErrors:
    @pytest.mark.parametrize(
        "url",
        [
            "/api/v1/assets/not-a-uuid/",
            "/api/v1/campaigns/00000000-0000-0000-0000-000000000000/",
            "/api/v1/no-such-resource/",
        ],
        ids=["malformed id", "missing row", "unknown API URL"],
    )
    def test_not_found_is_a_json_404_without_naming_the_model(self, user_client, url):
        response = user_client.get(url)
        assert response.status_code == 404
        assert error_body(response) == {"detail": "Not found."}

    def test_method_not_allowed_is_405_with_detail(self, user_client):
        response = user_client.delete("/api/v1/users/me/")
        assert response.status_code == 405
        assert "detail" in response.json()

    def test_forbidden_is_403_with_detail(self, user_client):
        response = user_client.post("/api/v1/knowledge-documents/", {"name": "x", "content": "y", "category": "z"})
        assert response.status_code == 403
        assert set(error_body(response)) == {"detail"}

    def test_bad_input_is_400_with_field_errors(self, user_client):
        response = user_client.post("/api/v1/campaigns/", {"name": "x", "budget": "-1"})
        assert response.status_code == 400
        assert error_body(response) == {"budget": ["Ensure this value is greater than or equal to 0."]}

    def test_malformed_json_is_400(self, user_client):
        response = user_client.generic("POST", "/api/v1/campaigns/", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert "detail" in response.json()

    @pytest.mark.parametrize(
        ("url", "parameter", "value"),
        [
            ("/api/v1/assets/", "status", "NOPE"),
            ("/api/v1/clips/", "asset", "nope"),
            ("/api/v1/assets/", "ordering", "password"),
        ],
        ids=["unknown filter value", "malformed uuid filter", "unknown ordering"],
    )
    def test_a_bad_query_parameter_is_400_naming_it(self, user_client, url, parameter, value):
        response = user_client.get(url, {parameter: value})
        assert response.status_code == 400
        assert parameter in error_body(response)

    def test_unknown_boolean_filter_value_is_400(self, user_client):
        response = user_client.get("/api/v1/assets/", {"is_deleted": "maybe"})
        assert response.status_code == 400
        assert error_body(response) == {"is_deleted": ["Must be true or false."]}

    def test_unique_violation_past_validation_is_409(self, user, user_client, monkeypatch):
        AssetFactory(gcs_url="gs://bucket/taken.mp4")
        monkeypatch.setattr("gateway.api.fields.UniqueOrNullValidator.__call__", lambda *args: None)
        payload = {
            "filename": "f.mp4",
            "original_name": "f.mp4",
            "mime_type": "video/mp4",
            "file_size": 1,
            "gcs_url": "gs://bucket/taken.mp4",
            "gcs_bucket": "bucket",
            "gcs_path": "taken.mp4",
        }
        response = user_client.post("/api/v1/assets/", payload)
        assert response.status_code == 409
        assert error_body(response) == {"detail": "A row with the same gcs_url already exists."}

    def test_check_violation_past_validation_is_400_naming_the_field(self, user_client, monkeypatch):
        monkeypatch.setattr("campaigns.api.serializers.CampaignSerializer.validate", lambda self, attrs: attrs)
        response = user_client.post("/api/v1/campaigns/", {"name": "x", "budget": "10.00", "daily_budget": "20.00"})
        assert response.status_code == 400
        assert error_body(response) == {
            "daily_budget": ["Violates the database constraint campaigns_campaign_daily_budget_within_budget."]
        }

    def test_integrity_error_is_turned_into_a_response(self):
        AssetFactory(gcs_url="gs://bucket/dup.mp4")
        with pytest.raises(IntegrityError) as error, transaction.atomic():
            AssetFactory(gcs_url="gs://bucket/dup.mp4")
        response = exception_handler(error.value, {})
        assert response.status_code == 409

    def test_a_data_error_is_answered_without_the_database_text(self):
        with pytest.raises(DataError) as error, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT %s::integer", ["99999999999"])
        response = exception_handler(error.value, {})
        assert response.status_code == 400
        assert response.data == {"non_field_errors": ["Invalid value: number out of range."]}

    def test_a_nul_the_database_driver_refuses_is_answered_without_its_text(self):
        with pytest.raises(DataError) as error:
            list(KnowledgeDocument.objects.filter(name="a\x00"))
        response = exception_handler(error.value, {})
        assert response.data == {"non_field_errors": ["Null characters are not allowed."]}

    def test_a_data_error_of_another_kind_is_an_invalid_value(self):
        with pytest.raises(DataError) as error, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT %s::integer", ["twelve"])
        response = exception_handler(error.value, {})
        assert response.data == {"non_field_errors": ["Invalid value."]}

    def test_anonymous_resource_request_is_401(self, api_client):
        for url in ("/api/v1/assets/", "/api/v1/knowledge-documents/", "/api/v1/conversions/"):
            assert api_client.get(url).status_code == 401

    def test_health_needs_no_authentication(self, api_client):
        assert api_client.get("/health/live").status_code == 200


class TestPagination:
    URL = "/api/v1/knowledge-documents/"

    @pytest.fixture
    def documents(self):
        return KnowledgeDocumentFactory.create_batch(25)

    def test_default_page_size_comes_from_settings(self, documents, user_client):
        data = user_client.get(self.URL).json()
        assert data["count"] == 25
        assert len(data["results"]) == settings.REST_FRAMEWORK["PAGE_SIZE"]
        assert data["previous"] is None
        assert "page=2" in data["next"]

    def test_page_size_and_page(self, documents, user_client):
        data = user_client.get(self.URL, {"page_size": 10, "page": 3}).json()
        assert len(data["results"]) == 5
        assert data["next"] is None
        assert "page=2" in data["previous"]

    def test_pages_do_not_overlap(self, documents, user_client):
        seen = set()
        for page in (1, 2, 3):
            rows = user_client.get(self.URL, {"page_size": 10, "page": page}).json()["results"]
            seen |= {row["id"] for row in rows}
        assert len(seen) == 25

    def test_rows_that_tie_on_the_ordering_are_paged_without_overlap(self, user_client):
        moment = timezone.now()
        created = KnowledgeDocumentFactory.create_batch(30, created_at=moment, category="same")
        seen = []
        for page in (1, 2, 3):
            rows = user_client.get(self.URL, {"page_size": 10, "page": page, "ordering": "category"}).json()["results"]
            seen += [row["id"] for row in rows]
        assert sorted(seen) == sorted(str(document.pk) for document in created)

    def test_page_size_is_capped_at_100(self, user_client):
        KnowledgeDocumentFactory.create_batch(101, content="short")
        data = user_client.get(self.URL, {"page_size": 1000}).json()
        assert data["count"] == 101
        assert len(data["results"]) == 100

    @pytest.mark.parametrize("parameter", ["page", "page_size"])
    @pytest.mark.parametrize(
        "value",
        ["0", "-1", "abc", "1_0", "\u0661", "+1", " 1"],
        ids=["zero", "negative", "letters", "underscore", "arabic-indic", "plus", "space"],
    )
    def test_page_and_page_size_must_be_positive_integers_in_ascii_digits(self, user_client, parameter, value):
        response = user_client.get(self.URL, {parameter: value})
        assert response.status_code == 400
        assert error_body(response) == {parameter: ["A positive integer is required."]}

    def test_page_past_the_last_is_404(self, documents, user_client):
        response = user_client.get(self.URL, {"page": 99})
        assert response.status_code == 404
        assert "detail" in response.json()

    def test_last_page(self, documents, user_client):
        data = user_client.get(self.URL, {"page": "last", "page_size": 10}).json()
        assert len(data["results"]) == 5


def _cursor(text: str) -> str:
    """A cursor as DRF encodes them, around any text."""
    return base64.b64encode(text.encode()).decode()


class TestCursorPagination:
    URL = "/api/v1/conversions/"
    INVALID = {
        "cursor": ["Invalid cursor: follow the next or previous link of a page, or give it empty for the first page."]
    }

    @pytest.fixture
    def conversions(self, user):
        return ConversionFactory.create_batch(3, campaign=CampaignFactory(user=user))

    def test_an_empty_cursor_is_the_first_page(self, conversions, user_client):
        data = user_client.get(self.URL, {"cursor": ""}).json()
        assert len(data["results"]) == 3

    def test_a_next_link_is_a_valid_cursor(self, conversions, user_client):
        first = user_client.get(self.URL, {"cursor": "", "page_size": 2}).json()
        response = user_client.get(first["next"])
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "\u0663",
            _cursor("o=x"),
            _cursor("p=garbage"),
            _cursor("p=a\x00"),
            _cursor("p=9999-12-31T23:00:00-23:00"),
        ],
        ids=["not-base64", "not-ascii", "bad-offset", "bad-position", "nul-position", "position-beyond-9999-in-utc"],
    )
    def test_a_malformed_cursor_is_a_400_naming_cursor(self, conversions, user_client, cursor):
        response = user_client.get(self.URL, {"cursor": cursor})
        assert response.status_code == 400
        assert error_body(response) == self.INVALID


def _rates(api_key="2/minute", anon="2/minute"):
    return {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": api_key, "anon": anon}}


class TestThrottling:
    def test_requests_past_the_rate_are_429_with_retry_after(self, user):
        client = client_for(user)
        with override_settings(REST_FRAMEWORK=_rates()):
            assert client.get(ME).status_code == 200
            assert client.get(ME).status_code == 200
            response = client.get(ME)
        assert response.status_code == 429
        assert "detail" in response.json()
        assert int(response["Retry-After"]) > 0

    def test_each_api_key_has_its_own_budget(self, user):
        first, second = client_for(user), client_for(user)
        with override_settings(REST_FRAMEWORK=_rates()):
            for _ in range(2):
                first.get(ME)
            assert first.get(ME).status_code == 429
            assert second.get(ME).status_code == 200

    def test_counts_are_kept_in_the_django_cache(self, user):
        key = ApiKeyFactory(user=user)
        windows = {int(time.time() // 60)}  # the rate is per minute; the request may cross into the next one
        APIClient().get(ME, HTTP_X_API_KEY=key.secret)
        windows.add(int(time.time() // 60))
        assert sum(cache.get(f"throttle_api_key_key:{key.pk}:{window}", 0) for window in windows) == 1

    def test_the_previous_minute_counts_for_the_part_of_it_the_last_minute_still_covers(self, user):
        key = ApiKeyFactory(user=user)
        throttle = ApiKeyRateThrottle()
        window = int(time.time() // 60)
        # 10 requests in the previous minute; now is 45 s into this one, so they weigh 10 x 15/60 = 2.5.
        cache.set(f"throttle_api_key_key:{key.pk}:{window - 1}", 10, 120)
        throttle.timer = lambda: window * 60 + 45
        drf_request = Request(APIRequestFactory().get(ME))
        drf_request.user, drf_request.auth = key.user, key
        with override_settings(REST_FRAMEWORK=_rates(api_key="4/minute")):
            assert throttle.allow_request(drf_request, None)  # 2.5 + 1 = 3.5 <= 4
            # None left; one more fits once the previous minute weighs 2: 10 x (15 - 3)/60, 3 s from now.
            assert throttle.rate_limit() == RateLimit(limit=4, remaining=0, reset=3)
            assert not throttle.allow_request(drf_request, None)  # 2.5 + 2 = 4.5 > 4: refused, and not counted
            assert throttle.wait() == pytest.approx(3)
        assert cache.get(f"throttle_api_key_key:{key.pk}:{window}") == 1
        cache.delete_many([f"throttle_api_key_key:{key.pk}:{window - 1}", f"throttle_api_key_key:{key.pk}:{window}"])

    def test_anonymous_docs_requests_are_throttled_per_address(self, api_client):
        cache.clear()
        with override_settings(REST_FRAMEWORK=_rates(anon="1/minute")):
            assert api_client.get("/api/schema/").status_code == 200
            assert api_client.get("/api/schema/").status_code == 429
        cache.clear()

    def test_a_forged_forwarded_for_does_not_escape_the_anonymous_limit(self, api_client):
        cache.clear()
        with override_settings(REST_FRAMEWORK=_rates(anon="1/minute")):
            assert api_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 200
            assert api_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="10.0.0.2").status_code == 429
        cache.clear()


class TestSchemaAndDocs:
    def test_schema_is_served_without_authentication(self, api_client):
        response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert "/api/v1/clips/top/" in schema["paths"]
        assert "ApiKeyAuth" in schema["components"]["securitySchemes"]

    def test_swagger_ui_uses_local_static_assets(self, api_client):
        response = api_client.get("/api/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
        assert "cdn.jsdelivr.net" not in html

    def test_schema_generates_and_validates_without_warnings(self, tmp_path):
        target = tmp_path / "schema.yaml"
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
        assert target.stat().st_size > 10_000

    def test_every_resource_is_in_the_schema(self, api_client):
        paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
        for resource in (
            "users",
            "api-keys",
            "assets",
            "clips",
            "predictions",
            "performance-metrics",
            "campaigns",
            "experiments",
            "conversions",
            "knowledge-documents",
        ):
            assert f"/api/v1/{resource}/" in paths
            assert f"/api/v1/{resource}/{{id}}/" in paths

    def test_operations_document_their_error_responses(self, api_client):
        paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
        create = paths["/api/v1/assets/"]["post"]["responses"]
        assert {"201", "400", "401", "403", "409", "429"} <= set(create)
        assert "404" in paths["/api/v1/assets/{id}/"]["get"]["responses"]


class TestMiddlewareOfApiKeyRequests:
    """An API-key request to the API passes the session, authentication and messages middleware straight by."""

    def seen_by_the_view(self, path: str, **headers) -> dict:
        from gateway.middleware import AuthenticationMiddleware, MessageMiddleware, SessionMiddleware

        seen = {}

        def view(request):
            seen.update(session=hasattr(request, "session"), user=hasattr(request, "user"))
            seen.update(messages=hasattr(request, "_messages"))
            return HttpResponse()

        chain = SessionMiddleware(AuthenticationMiddleware(MessageMiddleware(view)))
        chain(RequestFactory().get(path, headers=headers))
        return seen

    @pytest.mark.parametrize("headers", [{"X-API-Key": "any"}, {"Authorization": "Api-Key any"}])
    def test_an_api_key_request_to_the_api_has_no_session_user_or_messages(self, headers):
        assert self.seen_by_the_view("/api/v1/assets/", **headers) == {
            "session": False,
            "user": False,
            "messages": False,
        }

    @pytest.mark.parametrize(
        ("path", "headers"),
        [
            ("/api/v1/assets/", {}),  # a browser's session request to the API (the browsable API)
            ("/api/v1/assets/", {"Authorization": "Bearer any"}),
            ("/admin/", {"X-API-Key": "any"}),  # the console is never API-key authenticated
        ],
    )
    def test_every_other_request_has_them(self, path, headers):
        assert self.seen_by_the_view(path, **headers) == {"session": True, "user": True, "messages": True}


class TestEstimatedCounts:
    """A list of ``COUNT_CAP`` rows or more is never counted in full, and its pages still reach every row."""

    URL = "/api/v1/knowledge-documents/"

    @pytest.fixture
    def documents(self, monkeypatch):
        monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 5)
        documents = KnowledgeDocumentFactory.create_batch(12, content="short")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE knowledge_documents")
        return documents

    def walk(self, client, **query) -> list[dict]:
        pages, url = [], self.URL + "?" + urlencode({"page_size": 5, **query})
        while url:
            pages.append(client.get(url).json())
            url = pages[-1]["next"]
        return pages

    def test_a_big_list_says_its_count_is_an_estimate(self, documents, user_client):
        data = user_client.get(self.URL).json()
        assert data["count_is_estimate"] is True
        assert data["count"] >= 6  # past the cap: the planner's figure, not a full count

    def test_a_small_list_is_counted_exactly(self, user_client):
        KnowledgeDocumentFactory.create_batch(3)
        assert user_client.get(self.URL).json() | {"results": None, "next": None} == {
            "count": 3,
            "count_is_estimate": False,
            "next": None,
            "previous": None,
            "results": None,
        }

    def test_following_next_reaches_every_row_even_when_the_estimate_is_short(self, documents, user_client):
        KnowledgeDocumentFactory.create_batch(10, content="short")  # 22 rows; the statistics still say 12
        pages = self.walk(user_client)
        ids = [row["id"] for page in pages for row in page["results"]]
        assert len(ids) == len(set(ids)) == 22
        assert [len(page["results"]) for page in pages] == [5, 5, 5, 5, 2]

    def test_a_page_past_the_rows_is_404_and_last_is_the_real_last_page(self, documents, user_client):
        KnowledgeDocumentFactory.create_batch(10, content="short")
        assert user_client.get(self.URL, {"page_size": 5, "page": 6}).status_code == 404
        last = user_client.get(self.URL, {"page_size": 5, "page": "last"}).json()
        assert (len(last["results"]), last["next"]) == (2, None)
