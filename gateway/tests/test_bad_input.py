"""Bad input the fuzzer (test_schemathesis.py) found or the issue names: each is a 4xx with a message, never a 500.

NUL characters and lone surrogates, huge and non-finite numbers, JSON types other than the schema's, UTC
offsets PostgreSQL refuses, unknown ordering fields, form bodies, and a few answers that contradicted the
schema. One test per finding, so a regression names its cause.
"""

import datetime

import pytest
from rest_framework.test import APIClient

from campaigns.factories import CampaignFactory, ConversionFactory
from gateway.tests.api_helpers import client_for, error_body
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory
from users.factories import UserFactory

pytestmark = pytest.mark.django_db

ASSETS = "/api/v1/assets/"
CLIPS = "/api/v1/clips/"
CAMPAIGNS = "/api/v1/campaigns/"
DOCUMENTS = "/api/v1/knowledge-documents/"


def post_raw(client: APIClient, url: str, body: bytes, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def clip_body(user, **fields):
    return {"asset": str(AssetFactory(user=user).pk), "start_time": 0, "end_time": 1, **fields}


class TestNulCharacters:
    @pytest.mark.parametrize(
        "fields",
        [{"clip_url": "a\x00b"}, {"metadata": {"key": "a\x00b"}}, {"metadata": {"a\x00b": 1}}],
        ids=["text field", "JSON value", "JSON key"],
    )
    def test_nul_in_a_body_string_is_a_400(self, user, fields):
        response = client_for(user).post(CLIPS, clip_body(user, **fields))
        assert response.status_code == 400
        assert error_body(response) == {
            "detail": "JSON parse error - strings may not contain the NUL character (\\u0000)."
        }

    def test_an_escaped_backslash_before_u0000_is_not_a_nul(self, user):
        response = client_for(user).post(CLIPS, clip_body(user, metadata={"path": "C:\\u0000"}))
        assert response.status_code == 201

    @pytest.mark.parametrize(
        ("url", "parameter"),
        [
            (ASSETS, "search"),
            (ASSETS, "gcs_url"),
            (ASSETS, "ordering"),
            ("/api/v1/performance-metrics/", "platform__in"),
            (DOCUMENTS, "q"),
            (DOCUMENTS, "tags__overlap"),
            ("/api/v1/predictions/accuracy/", "model_version"),
        ],
    )
    def test_nul_in_a_query_string_is_a_400(self, user_client, url, parameter):
        response = user_client.get(url, {parameter: "a\x00b"})
        assert response.status_code == 400, response.content
        assert isinstance(response.json(), dict)  # field errors, as everywhere (DRF's search raised a bare list)

    def test_nul_in_the_full_text_query_is_a_400_naming_q(self, user_client):
        response = user_client.get(DOCUMENTS, {"q": "a\x00"})
        assert response.status_code == 400
        assert error_body(response) == {"q": ["Null characters are not allowed."]}

    def test_nul_in_search_is_a_400_naming_search(self, user_client):
        response = user_client.get(ASSETS, {"search": "a\x00"})
        assert response.status_code == 400
        assert error_body(response) == {"search": ["Null characters are not allowed."]}

    def test_nul_in_a_parameter_no_filter_reads_is_a_400_naming_it(self, user_client):
        response = user_client.get(DOCUMENTS, {"unknown": "a\x00"})
        assert response.status_code == 400
        assert error_body(response) == {"unknown": ["Null characters are not allowed."]}

    def test_nul_in_a_query_string_of_a_detail_is_a_400(self, user_client):
        document = KnowledgeDocumentFactory()
        response = user_client.get(f"{DOCUMENTS}{document.pk}/", {"q": "a\x00"})
        assert response.status_code == 400
        assert error_body(response) == {"q": ["Null characters are not allowed."]}


class TestLoneSurrogates:
    def test_a_lone_surrogate_in_a_body_is_a_400(self, user, user_client):
        body = (
            b'{"asset": "%s", "start_time": 0, "end_time": 1, "clip_url": "\\ud800"}'
            % str(AssetFactory(user=user).pk).encode()
        )
        response = post_raw(user_client, CLIPS, body)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error")

    def test_a_lone_surrogate_in_a_query_string_is_not_a_500(self, user_client):
        # Not valid UTF-8 once decoded (CESU-8 of U+D800): Django replaces it, the search finds nothing.
        response = user_client.get(f"{ASSETS}?search=%ED%A0%80")
        assert response.status_code == 200


class TestNumbers:
    def test_an_integer_beyond_64_bits_in_a_body_is_a_400(self, user, user_client):
        asset = AssetFactory(user=user)
        body = b'{"asset": "%s", "start_time": 0, "end_time": 1, "rank": 1%s}' % (str(asset.pk).encode(), b"0" * 30)
        assert post_raw(user_client, CLIPS, body).status_code == 400

    def test_an_integer_beyond_the_column_is_a_400(self, user, user_client):
        response = user_client.post(CLIPS, clip_body(user, rank=2**40))
        assert response.status_code == 400
        assert "rank" in response.json()

    def test_a_float_beyond_a_double_is_a_400(self, user, user_client):
        asset = AssetFactory(user=user)
        body = b'{"asset": "%s", "start_time": 0, "end_time": 1e400}' % str(asset.pk).encode()
        response = post_raw(user_client, CLIPS, body)
        assert response.status_code == 400

    @pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
    def test_non_finite_literals_are_a_400(self, user, user_client, literal):
        asset = AssetFactory(user=user)
        body = b'{"asset": "%s", "start_time": 0, "end_time": %s}' % (str(asset.pk).encode(), literal)
        assert post_raw(user_client, CLIPS, body).status_code == 400

    @pytest.mark.parametrize("value", ["99999999999999999999999999999", "-1", "1.5"])
    def test_huge_negative_or_fractional_page_is_a_400_or_404(self, user_client, value):
        assert user_client.get(ASSETS, {"page": value}).status_code in (400, 404)

    @pytest.mark.parametrize("params", [{}, {"format": "json"}])
    def test_a_page_past_any_offset_of_an_estimated_list_is_a_404(self, user, user_client, monkeypatch, params):
        """A list counted by an estimate bounds no page number; one whose first row would lie past PostgreSQL's
        bigint OFFSET is past the end, as any page past the last (compiled or through ``filter_queryset``)."""
        from gateway.paginator import EstimatedCountPaginator

        monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 1)
        ClipFactory.create_batch(2, asset=AssetFactory(user=user))
        for page in (10**18, 10**30):
            response = user_client.get(CLIPS, {"page": page, "page_size": 2, **params})
            assert response.status_code == 404
            assert response.json()["detail"] == "Invalid page."
        assert user_client.get(CLIPS, {"page_size": 2, **params}).json()["count_is_estimate"] is True

    def test_a_huge_filter_value_is_not_a_500(self, user_client):
        assert user_client.get(CLIPS, {"rank_min": "9" * 40}).status_code == 200

    @pytest.mark.parametrize("value", ["1.5", "1.0", "+1", "1e3", "x", "١", "1_0"])
    def test_an_integer_filter_takes_whole_numbers_only(self, user, user_client, value):
        ClipFactory(asset=AssetFactory(user=user), rank=2)
        response = user_client.get(CLIPS, {"rank_min": value})
        assert response.status_code == 400
        assert "rank_min" in response.json()

    def test_an_integer_filter_is_exact(self, user, user_client):
        asset = AssetFactory(user=user)
        ClipFactory(asset=asset, rank=1)
        second = ClipFactory(asset=asset, rank=2)
        response = user_client.get(CLIPS, {"rank_min": "2"})
        assert [row["id"] for row in response.json()["results"]] == [str(second.pk)]


class TestStrictJsonTypes:
    """A field takes the JSON type the schema documents (gateway/api/strict.py)."""

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("clip_url", 12, "Not a valid string."),
            ("rank", "3", "A valid integer is required."),
            ("rank", True, "A valid integer is required."),
            ("score", "0.5", "A valid number is required."),
            ("score", True, "A valid number is required."),
            ("has_text", 1, "Must be a valid boolean."),
            ("has_text", "true", "Must be a valid boolean."),
            ("asset", 12345, "Must be a valid UUID."),
        ],
    )
    def test_a_value_of_another_json_type_is_a_400(self, user, user_client, field, value, message):
        response = user_client.post(CLIPS, clip_body(user, **{field: value}))
        assert response.status_code == 400
        errors = response.json()[field]
        assert message in errors or any(message.rstrip(".") in error for error in errors), errors

    @pytest.mark.parametrize("budget", [5000, 5000.5, "5e3", "+5000", " 5000", ""])
    def test_a_decimal_is_a_plain_decimal_string(self, user_client, budget):
        response = user_client.post(CAMPAIGNS, {"name": "Spring", "budget": budget})
        assert response.status_code == 400
        assert error_body(response) == {"budget": ["A valid number is required."]}

    @pytest.mark.parametrize("budget", ["5000", "5000.5", "5000.50", ".5", "5."])
    def test_plain_decimal_strings_are_taken(self, user_client, budget):
        assert user_client.post(CAMPAIGNS, {"name": "Spring", "budget": budget}).status_code == 201

    def test_text_is_measured_as_sent_not_as_trimmed(self, user_client):
        # name has max_length 255: 254 characters and two spaces are 256 as sent (DRF alone took them).
        response = user_client.post(CAMPAIGNS, {"name": "x" * 254 + "  ", "budget": "1.00"})
        assert response.status_code == 400
        assert error_body(response) == {"name": ["Ensure this field has no more than 255 characters."]}
        assert user_client.post(CAMPAIGNS, {"name": " x ", "budget": "1.00"}).json()["name"] == "x"

    def test_an_integral_float_is_an_integer(self, user, user_client):
        response = user_client.post(CLIPS, clip_body(user, rank=3.0))
        assert response.status_code == 201
        assert response.json()["rank"] == 3

    def test_query_strings_are_still_parsed_from_text(self, user_client):
        assert user_client.get(f"{CLIPS}top/", {"limit": "5", "min_score": "0.5"}).status_code == 200

    def test_the_decimal_pattern_in_the_schema_needs_a_digit(self, api_client):
        import re

        schema = api_client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
        pattern = schema["CampaignRequest"]["properties"]["budget"]["pattern"]
        budgets = ("5", "5.25", ".5", "", "-", ".", "-5")
        assert [text for text in budgets if re.match(pattern, text)] == ["5", "5.25", ".5"]
        ctr = schema["PerformanceMetricRequest"]["properties"]["ctr"]["pattern"]  # Decimal(5, 4), not negative
        ctrs = ("0", "0.5", "9.9999", "10", "0.12345", "-0.5")
        assert [text for text in ctrs if re.match(ctr, text)] == ["0", "0.5", "9.9999"]


class TestDateTimes:
    @pytest.mark.parametrize("offset", ["+23:58", "-23:59", "+16:00"])
    def test_an_offset_postgresql_refuses_is_sent_in_utc(self, user_client, offset):
        response = user_client.get(CAMPAIGNS, {"created_at_after": f"2020-05-04T02:12:24{offset}"})
        assert response.status_code == 200

    def test_the_filter_compares_the_same_instant(self, user, user_client):
        campaign = CampaignFactory(user=user)
        campaign.created_at = datetime.datetime(2020, 5, 4, 12, 0, tzinfo=datetime.UTC)
        campaign.save(update_fields=["created_at"])
        # 11:57 at +23:58 is 11:59 UTC the day before; 11:59 at +23:58 is 12:01 UTC.
        before = user_client.get(CAMPAIGNS, {"created_at_after": "2020-05-05T11:57:00+23:58"}).json()
        after = user_client.get(CAMPAIGNS, {"created_at_after": "2020-05-05T11:59:00+23:58"}).json()
        assert (before["count"], after["count"]) == (1, 0)

    def test_a_date_time_beyond_year_9999_in_utc_is_a_400(self, user_client):
        response = user_client.get(CAMPAIGNS, {"created_at_after": "9999-12-31T23:00:00-23:00"})
        assert response.status_code == 400


class TestAnswersTheSchemaDocuments:
    def test_an_unknown_ordering_field_is_a_400(self, user_client):
        response = user_client.get(ASSETS, {"ordering": "password"})
        assert response.status_code == 400
        assert "ordering" in response.json()

    def test_a_form_body_is_a_415(self, user_client):
        response = post_raw(user_client, CAMPAIGNS, b"name=Spring&budget=5", "application/x-www-form-urlencoded")
        assert response.status_code == 415
        assert "detail" in response.json()

    def test_the_schema_documents_json_bodies_only(self, api_client):
        schema = api_client.get("/api/schema/", {"format": "json"}).json()
        bodies = {
            media_type
            for operations in schema["paths"].values()
            for operation in operations.values()
            for media_type in operation.get("requestBody", {}).get("content", {})
        }
        assert bodies == {"application/json"}

    def test_options_on_users_me_describes_it(self, user_client):
        # Was a 500: DRF's metadata looked for an id in the URL of ``me/``.
        response = user_client.options("/api/v1/users/me/")
        assert response.status_code == 200
        assert "PUT" in response.json()["actions"]

    def test_a_hard_flag_that_is_not_a_boolean_is_a_documented_400(self, admin_client_api, api_client):
        asset = AssetFactory()
        response = admin_client_api.delete(f"{ASSETS}{asset.pk}/?hard=maybe")
        assert response.status_code == 400
        schema = api_client.get("/api/schema/", {"format": "json"}).json()
        assert "400" in schema["paths"]["/api/v1/assets/{id}/"]["delete"]["responses"]

    def test_a_malformed_page_with_a_cursor_is_a_400(self, user, user_client):
        ConversionFactory(campaign=CampaignFactory(user=user))
        response = user_client.get("/api/v1/conversions/", {"cursor": "", "page": "x"})
        assert response.status_code == 400

    def test_empty_query_parameters_mean_not_given(self, user_client, api_client):
        KnowledgeDocumentFactory()
        response = user_client.get(DOCUMENTS, {"version": "", "created_at_after": "", "category": ""})
        assert response.json()["count"] == 1
        schema = api_client.get("/api/schema/", {"format": "json"}).json()
        parameters = schema["paths"][DOCUMENTS]["get"]["parameters"]
        assert all(parameter.get("allowEmptyValue") for parameter in parameters)

    def test_null_items_of_an_ingest_batch_are_reported_by_index(self, user_client):
        response = user_client.post("/api/v1/performance-metrics/ingest/", {"metrics": [None]})
        assert response.status_code == 200
        assert response.json()["errors"] == [{"index": 0, "errors": {"non_field_errors": ["Must be an object."]}}]

    def test_a_fps_of_zero_is_refused_as_the_schema_says(self, user_client, api_client):
        response = user_client.post(ASSETS, {"fps": 0})
        assert response.json()["fps"] == ["Ensure this value is greater than 0."]
        schema = api_client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
        assert schema["AssetRequest"]["properties"]["fps"]["exclusiveMinimum"] is True


def test_another_user_cannot_see_a_row_through_a_bad_filter_either():
    owner, other = UserFactory(), UserFactory()
    asset = AssetFactory(user=owner)
    response = client_for(other).get(f"{ASSETS}{asset.pk}/", {"status": "\x00"})
    assert response.status_code in (400, 404)
