"""The API contract: a query parameter means one thing, a body field is one the endpoint takes, every answer
tells the rate limit, and every answer under /api/ is JSON, DEBUG included."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from campaigns.choices import ConversionSource
from campaigns.factories import CampaignFactory, ConversionFactory
from gateway import urls as project_urls
from gateway.api.serializers import REPEATED_PARAMETER, StrictInputMixin
from gateway.tests.api_helpers import client_for, error_body, ids, refusal
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory

pytestmark = pytest.mark.django_db

CONVERSIONS = "/api/v1/conversions/"
CAMPAIGNS = "/api/v1/campaigns/"


def raising_view(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/raise/", raising_view), path("", include("gateway.urls"))]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def campaign(user):
    return CampaignFactory(user=user, name="Summer launch")


def conversion(campaign, **fields):
    return str(ConversionFactory(campaign=campaign, **fields).pk)


def ordered_ids(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


class TestMultiValuedParameters:
    def test_a_repeated_in_parameter_returns_the_rows_of_every_value(self, user_client, campaign):
        meta = conversion(campaign, source=ConversionSource.META)
        google = conversion(campaign, source=ConversionSource.GOOGLE)
        conversion(campaign, source=ConversionSource.TIKTOK)
        assert ids(user_client.get(CONVERSIONS, {"source__in": ["META", "GOOGLE"]})) == {meta, google}

    def test_a_comma_separated_in_parameter_returns_the_rows_of_every_value(self, user_client, campaign):
        meta = conversion(campaign, source=ConversionSource.META)
        google = conversion(campaign, source=ConversionSource.GOOGLE)
        conversion(campaign, source=ConversionSource.TIKTOK)
        assert ids(user_client.get(f"{CONVERSIONS}?source__in=META,GOOGLE")) == {meta, google}

    def test_repeated_and_comma_separated_values_add_up(self, user_client, campaign):
        rows = {conversion(campaign, source=source) for source in ("META", "GOOGLE", "TIKTOK")}
        conversion(campaign, source=ConversionSource.MANUAL)
        assert ids(user_client.get(f"{CONVERSIONS}?source__in=META,GOOGLE&source__in=TIKTOK")) == rows

    def test_each_repeated_value_is_checked(self, user_client, campaign):
        response = user_client.get(f"{CONVERSIONS}?source__in=META&source__in=LOST")
        assert list(refusal(response)) == ["source__in"]

    def test_repeated_tags_find_the_documents_having_all_of_them(self, user_client):
        both = KnowledgeDocumentFactory(tags=["roas", "meta"])
        KnowledgeDocumentFactory(tags=["roas"])
        assert ids(user_client.get("/api/v1/knowledge-documents/", {"tags": ["roas", "meta"]})) == {str(both.pk)}


class TestOrderingByManyFields:
    @pytest.fixture
    def rows(self, campaign):
        now = timezone.now()
        low = conversion(campaign, value=Decimal("10.00"), timestamp=now - datetime.timedelta(hours=3))
        high_late = conversion(campaign, value=Decimal("20.00"), timestamp=now - datetime.timedelta(hours=1))
        high_early = conversion(campaign, value=Decimal("20.00"), timestamp=now - datetime.timedelta(hours=2))
        return high_early, high_late, low

    def test_a_repeated_ordering_sorts_by_every_field(self, user_client, rows):
        assert ordered_ids(user_client.get(f"{CONVERSIONS}?ordering=-value&ordering=timestamp")) == list(rows)

    def test_a_comma_separated_ordering_sorts_by_every_field(self, user_client, rows):
        assert ordered_ids(user_client.get(f"{CONVERSIONS}?ordering=-value,timestamp")) == list(rows)

    def test_each_repeated_ordering_field_is_checked(self, user_client, rows):
        response = user_client.get(f"{CONVERSIONS}?ordering=-value&ordering=nothing")
        assert list(refusal(response)) == ["ordering"]


class TestSingleValuedParameters:
    def test_a_filter_given_twice_is_a_400_naming_it(self, user_client, campaign):
        conversion(campaign, source=ConversionSource.GOOGLE)
        response = user_client.get(f"{CONVERSIONS}?source=META&source=GOOGLE")
        assert refusal(response) == {"source": [REPEATED_PARAMETER]}

    def test_page_given_twice_is_a_400_naming_it(self, user_client):
        assert refusal(user_client.get(f"{CAMPAIGNS}?page=1&page=2")) == {"page": [REPEATED_PARAMETER]}

    def test_search_given_twice_is_a_400_naming_it(self, user_client):
        assert refusal(user_client.get(f"{CAMPAIGNS}?search=a&search=b")) == {"search": [REPEATED_PARAMETER]}

    def test_every_parameter_given_twice_is_named(self, user_client):
        response = user_client.get(f"{CAMPAIGNS}?status=ACTIVE&status=DRAFT&page_size=1&page_size=2")
        assert set(refusal(response)) == {"status", "page_size"}

    def test_a_parameter_of_an_action_given_twice_is_a_400_naming_it(self, user_client):
        response = user_client.get("/api/v1/clips/top/?limit=1&limit=2")
        assert refusal(response) == {"limit": [REPEATED_PARAMETER]}

    def test_a_flag_of_a_delete_given_twice_is_a_400_and_deletes_nothing(self, user_client, campaign):
        response = user_client.delete(f"{CAMPAIGNS}{campaign.pk}/?hard=false&hard=true")
        assert refusal(response) == {"hard": [REPEATED_PARAMETER]}
        assert user_client.get(f"{CAMPAIGNS}{campaign.pk}/").status_code == 200


class TestSearch:
    def test_conversions_are_found_by_external_id(self, user_client, campaign):
        wanted = conversion(campaign, external_id="meta_order_4711")
        conversion(campaign, external_id="meta_order_0815")
        assert ids(user_client.get(CONVERSIONS, {"search": "4711"})) == {wanted}

    def test_conversions_are_found_by_campaign_name(self, user_client, user, campaign):
        wanted = conversion(campaign)
        conversion(CampaignFactory(user=user, name="Winter sale"))
        assert ids(user_client.get(CONVERSIONS, {"search": "summer"})) == {wanted}

    def test_a_search_matching_nothing_returns_no_conversions(self, user_client, campaign):
        conversion(campaign)
        assert ids(user_client.get(CONVERSIONS, {"search": "zzzz_nothing"})) == set()

    def test_clips_are_found_by_their_assets_name(self, user_client, user):
        wanted = ClipFactory(asset=AssetFactory(user=user, original_name="product-launch.mp4"))
        ClipFactory(asset=AssetFactory(user=user, original_name="testimonials.mp4"))
        assert ids(user_client.get("/api/v1/clips/", {"search": "launch"})) == {str(wanted.pk)}

    def test_predictions_are_found_by_model_version(self, user_client, user):
        clip = ClipFactory(asset=AssetFactory(user=user))
        wanted = PredictionFactory(clip=clip, model_version="v2.1.0")
        PredictionFactory(clip=clip, model_version="v1.0.0")
        assert ids(user_client.get("/api/v1/predictions/", {"search": "v2.1"})) == {str(wanted.pk)}

    def test_performance_metrics_are_found_by_platform(self, user_client, user):
        asset = AssetFactory(user=user)
        wanted = PerformanceMetricFactory(asset=asset, platform="tiktok")
        PerformanceMetricFactory(asset=asset, platform="meta")
        assert ids(user_client.get("/api/v1/performance-metrics/", {"search": "TikTok"})) == {str(wanted.pk)}

    def test_search_is_advertised_exactly_where_a_view_searches(self, schema):
        advertised = {
            url
            for url, operations in schema["paths"].items()
            if any(parameter["name"] == "search" for parameter in operations.get("get", {}).get("parameters", []))
        }
        assert advertised == {
            f"/api/v1/{name}/"
            for name in (
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
            )
        }


class TestUnknownBodyFields:
    def test_an_unknown_field_of_a_create_is_a_400_naming_it_and_the_closest_name(self, user_client):
        response = user_client.post(CAMPAIGNS, {"name": "New", "budget": "10.00", "currency": "USD", "budgett": "5"})
        assert refusal(response) == {"budgett": ['Unknown field. Did you mean "budget"?']}

    def test_an_unknown_field_without_a_close_name_is_only_unknown(self, user_client):
        response = user_client.post(CAMPAIGNS, {"name": "New", "budget": "10.00", "zzz": 1})
        assert refusal(response) == {"zzz": ["Unknown field."]}

    def test_an_unknown_field_is_named_with_the_fields_own_errors(self, user_client):
        response = user_client.post(CAMPAIGNS, {"name": "New", "budget": "-1", "nmae": "x"})
        assert set(refusal(response)) == {"budget", "nmae"}

    def test_an_unknown_field_of_a_partial_update_changes_nothing(self, user_client, campaign):
        response = user_client.patch(f"{CAMPAIGNS}{campaign.pk}/", {"name": "Renamed", "descripton": "typo"})
        assert refusal(response) == {"descripton": ['Unknown field. Did you mean "description"?']}
        campaign.refresh_from_db()
        assert campaign.name == "Summer launch"

    def test_an_unknown_field_of_a_full_update_is_a_400(self, user_client, campaign):
        body = {"name": "Renamed", "budget": "10.00", "currency": "USD", "colour": "red"}
        assert refusal(user_client.put(f"{CAMPAIGNS}{campaign.pk}/", body)) == {"colour": ["Unknown field."]}

    def test_an_unknown_field_of_an_action_is_a_400(self, user_client, user):
        clip = ClipFactory(asset=AssetFactory(user=user))
        response = user_client.post(f"/api/v1/clips/{clip.pk}/scores/", {"scor": 0.5})
        assert refusal(response) == {"scor": ['Unknown field. Did you mean "score"?']}

    def test_an_unknown_field_of_an_ingest_item_is_reported_with_its_index(self, user_client, campaign):
        items = [
            {"campaign": str(campaign.pk), "external_id": "a", "value": "1.00"},
            {"campaign": str(campaign.pk), "external_id": "b", "value": "1.00", "valeu": "2.00"},
        ]
        response = user_client.post(f"{CONVERSIONS}ingest/", {"conversions": items})
        assert response.status_code == 200
        body = response.json()
        assert body["created"] == 1
        assert body["errors"] == [{"index": 1, "errors": {"valeu": ['Unknown field. Did you mean "value"?']}}]

    def test_an_unknown_field_of_an_ingest_envelope_is_a_400(self, user_client, user):
        response = user_client.post("/api/v1/performance-metrics/ingest/", {"metrics": [{}], "metric": []})
        assert refusal(response) == {"metric": ['Unknown field. Did you mean "metrics"?']}

    def test_a_read_only_field_sent_back_is_ignored(self, user_client, campaign):
        response = user_client.patch(f"{CAMPAIGNS}{campaign.pk}/", {"name": "Renamed", "total_spend": "99.00"})
        assert response.status_code == 200
        assert response.json()["total_spend"] == "0.00"

    def test_an_unknown_query_parameter_is_not_a_body_field(self, user_client, campaign):
        assert user_client.get(f"{CAMPAIGNS}?utm_source=newsletter").status_code == 200


class TestCampaignMetricsNames:
    def url(self, campaign):
        return f"{CAMPAIGNS}{campaign.pk}/metrics/"

    def test_the_names_the_campaign_is_read_with_set_the_totals(self, user_client, campaign):
        response = user_client.post(self.url(campaign), {"total_spend": "12.50", "total_clicks": 40})
        assert response.status_code == 200
        assert (response.json()["total_spend"], response.json()["total_clicks"]) == ("12.50", 40)

    def test_the_short_names_are_aliases(self, user_client, campaign):
        response = user_client.post(self.url(campaign), {"spend": "12.50", "impressions": 1000})
        assert (response.json()["total_spend"], response.json()["total_impressions"]) == ("12.50", 1000)

    def test_a_total_under_both_names_is_a_400(self, user_client, campaign):
        response = user_client.post(self.url(campaign), {"spend": "1.00", "total_spend": "2.00"})
        assert refusal(response) == {"spend": ["Give total_spend or its alias spend, not both."]}

    def test_no_total_is_a_400_naming_the_totals(self, user_client, campaign):
        response = user_client.post(self.url(campaign), {"increment": True})
        message = "Give at least one of total_spend, total_impressions, total_clicks, total_conversions."
        assert refusal(response) == {"non_field_errors": [message]}

    def test_a_misspelt_total_is_named(self, user_client, campaign):
        response = user_client.post(self.url(campaign), {"total_spnd": "1.00"})
        assert refusal(response) == {"total_spnd": ['Unknown field. Did you mean "total_spend"?']}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


class TestRequestSchema:
    @pytest.mark.parametrize(
        ("envelope", "field", "item"),
        [
            ("ConversionIngestRequest", "conversions", "ConversionIngestItemRequest"),
            ("PerformanceMetricIngestRequest", "metrics", "PerformanceMetricIngestItemRequest"),
        ],
    )
    def test_ingest_items_are_the_item_component(self, schema, envelope, field, item):
        items = schema["components"]["schemas"][envelope]["properties"][field]["items"]
        assert items == {"$ref": f"#/components/schemas/{item}"}
        assert "asset" in schema["components"]["schemas"][item]["properties"] or field == "conversions"

    def test_number_filters_take_doubles(self, schema, user_client, user):
        # `format: float` said 32-bit, but the filters read doubles: ?score__in=-1.4e-109 (no float32) was
        # "invalid data accepted" to Schemathesis. Found by `make fuzz`.
        formats = {
            (url, parameter["name"]): parameter["schema"].get("items", parameter["schema"]).get("format")
            for url, operations in schema["paths"].items()
            for operation in operations.values()
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "query"
        }
        assert formats[("/api/v1/clips/", "score__in")] == "double"
        assert "float" not in formats.values()
        assert user_client.get("/api/v1/clips/", {"score__in": "-1.4e-109"}).status_code == 200

    def test_every_request_body_is_a_component(self, schema):
        bodies = [
            (method, url, media)
            for url, operations in schema["paths"].items()
            for method, operation in operations.items()
            for media in operation.get("requestBody", {}).get("content", {}).values()
        ]
        assert bodies
        assert [(method, url) for method, url, media in bodies if "$ref" not in media["schema"]] == []

    def test_every_request_body_refuses_unknown_fields(self):
        generator = SchemaGenerator()
        generator.get_schema(request=None, public=True)
        requests = [
            component
            for component in generator.registry._components.values()
            if component.type == "schemas" and component.name.endswith("Request")
        ]
        assert [component.name for component in requests if not isinstance(component.object, StrictInputMixin)] == []

    def test_request_components_allow_no_other_properties(self, schema):
        requests = {name: body for name, body in schema["components"]["schemas"].items() if name.endswith("Request")}
        assert "CampaignMetricsRequest" in requests
        assert all(body.get("additionalProperties") is False for body in requests.values() if body["type"] == "object")


def rates(api_key="3/minute", anon="3/minute"):
    from django.conf import settings

    return {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": api_key, "anon": anon}}


class TestRateLimitHeaders:
    ME = "/api/v1/users/me/"

    def test_an_answer_tells_the_limit_what_remains_and_when_it_resets(self, user):
        client = client_for(user)
        with override_settings(REST_FRAMEWORK=rates()):
            response = client.get(self.ME)
        assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", "2")
        assert 0 < int(response["RateLimit-Reset"]) <= 60

    def test_remaining_goes_down_with_each_request(self, user):
        client = client_for(user)
        with override_settings(REST_FRAMEWORK=rates()):
            remaining = [client.get(self.ME)["RateLimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]

    def test_a_429_has_none_remaining_and_resets_when_retry_after_says(self, user):
        client = client_for(user)
        with override_settings(REST_FRAMEWORK=rates(api_key="1/minute")):
            client.get(self.ME)
            response = client.get(self.ME)
        assert response.status_code == 429
        assert response["RateLimit-Remaining"] == "0"
        assert response["RateLimit-Reset"] == response["Retry-After"]

    def test_an_error_answer_carries_them(self, user):
        client = client_for(user)
        with override_settings(REST_FRAMEWORK=rates()):
            response = client.get(f"{CAMPAIGNS}00000000-0000-0000-0000-000000000000/")
        assert response.status_code == 404
        assert response["RateLimit-Remaining"] == "2"

    def test_a_401_tells_the_anonymous_limit_without_counting_it(self, api_client):
        cache.clear()
        with override_settings(REST_FRAMEWORK=rates(anon="5/minute")):
            first = api_client.get(self.ME)
            second = api_client.get(self.ME)
        cache.clear()
        assert first.status_code == 401
        assert (second["RateLimit-Limit"], second["RateLimit-Remaining"], second["RateLimit-Reset"]) == ("5", "5", "0")

    def test_each_api_key_is_counted_on_its_own(self, user):
        first, second = client_for(user), client_for(user)
        with override_settings(REST_FRAMEWORK=rates()):
            first.get(self.ME)
            response = second.get(self.ME)
        assert response["RateLimit-Remaining"] == "2"


@pytest.mark.urls(__name__)
class TestJsonInDebug:
    """With DEBUG on, Django would answer these with its HTML debug pages."""

    @pytest.fixture(autouse=True)
    def debug(self, settings):
        settings.DEBUG = True

    @pytest.mark.parametrize("url", ["/api/v1/clips/0.5/", "/api/nothing", "/api/v1/no-such-resource/"])
    def test_a_url_no_route_matches_is_a_json_404(self, user_client, url):
        response = user_client.get(url)
        assert response.status_code == 404
        assert error_body(response) == {"detail": "Not found."}

    def test_a_method_not_allowed_is_a_json_405(self, user_client):
        response = user_client.delete("/api/v1/users/me/")
        assert response.status_code == 405
        assert response["Content-Type"] == "application/json"

    def test_an_uncaught_exception_is_a_json_500(self, user):
        response = Client(raise_request_exception=False).get("/api/v1/raise/", HTTP_ACCEPT="text/html")
        assert response.status_code == 500
        assert error_body(response) == {"detail": "Internal server error."}

    def test_outside_the_api_the_debug_page_stays(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")
