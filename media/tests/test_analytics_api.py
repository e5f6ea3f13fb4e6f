"""``POST performance-metrics/ingest/`` and ``GET predictions/accuracy/``."""

from decimal import Decimal

import pytest
from rest_framework import serializers

from gateway.api.validation import FastItemValidator
from media.api.analytics_serializers import PerformanceMetricIngestItemSerializer
from media.factories import AssetFactory, ClipFactory, PredictionFactory
from media.models import PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db

INGEST_URL = "/api/v1/performance-metrics/ingest/"
ACCURACY_URL = "/api/v1/predictions/accuracy/"


def row(asset, date="2025-06-01", **overrides):
    return {
        "asset": str(asset.pk),
        "date": date,
        "impressions": 10_000,
        "clicks": 250,
        "conversions": 12,
        "spend": "125.00",
        "revenue": "500.00",
        **overrides,
    }


class TestIngest:
    def test_creates_then_updates(self, user_client, user):
        asset = AssetFactory(user=user)
        response = user_client.post(INGEST_URL, {"metrics": [row(asset), row(asset, "2025-06-02")]}, format="json")
        assert response.status_code == 200, response.data
        body = response.json()
        assert (body["created"], body["updated"], body["errors"]) == (2, 0, [])
        metric = PerformanceMetric.objects.get(asset=asset, date="2025-06-01")
        assert (metric.ctr, metric.roas, metric.platform) == (Decimal("0.0250"), Decimal("4.00"), "meta")
        assert body["results"][0] == {"index": 0, "id": str(metric.pk), "created": True}

        body = user_client.post(INGEST_URL, {"metrics": [row(asset, clicks=500)]}, format="json").json()
        assert (body["created"], body["updated"]) == (0, 1)
        metric.refresh_from_db()
        assert metric.ctr == Decimal("0.0500")

    def test_item_errors_carry_their_index_and_the_rest_is_written(self, user_client, user):
        asset, foreign = AssetFactory(user=user), AssetFactory()
        items = [
            row(asset),
            row(foreign),
            row(asset, "2025-06-02", clicks=-1),
            "not an object",
            row(asset, "2025-06-03", clicks=20_000),
            row(asset),
            row(asset, "2025-06-04"),
        ]
        body = user_client.post(INGEST_URL, {"metrics": items}, format="json").json()
        assert body["created"] == 2
        errors = {error["index"]: error["errors"] for error in body["errors"]}
        assert sorted(errors) == [1, 2, 3, 4, 5]
        assert "may not use it" in errors[1]["asset"][0]
        assert "clicks" in errors[2]
        assert errors[3] == {"non_field_errors": ["Must be an object."]}
        assert errors[4] == {"clicks": ["Cannot exceed impressions (10000)."]}
        assert errors[5] == {"non_field_errors": ["Repeats item 0 (same asset, platform and date)."]}
        assert [result["index"] for result in body["results"]] == [0, 6]
        assert not PerformanceMetric.objects.filter(asset=foreign).exists()

    def test_given_ctr_and_roas_are_kept(self, user_client, user):
        asset = AssetFactory(user=user)
        user_client.post(INGEST_URL, {"metrics": [row(asset, ctr="0.0300", roas="3.50")]}, format="json")
        metric = PerformanceMetric.objects.get(asset=asset)
        assert (metric.ctr, metric.roas) == (Decimal("0.0300"), Decimal("3.50"))

    @pytest.mark.parametrize("body", [{}, {"metrics": []}, {"metrics": "x"}, {"metrics": [{}] * 1001}])
    def test_bad_envelope_is_a_400(self, user_client, body):
        response = user_client.post(INGEST_URL, body, format="json")
        assert response.status_code == 400
        assert "metrics" in response.json()

    def test_admin_may_ingest_for_any_asset(self, admin_client_api):
        body = admin_client_api.post(INGEST_URL, {"metrics": [row(AssetFactory())]}, format="json").json()
        assert body["created"] == 1

    def test_anonymous_is_a_401(self, api_client):
        assert api_client.post(INGEST_URL, {"metrics": []}, format="json").status_code == 401


def prediction(clip, version, **values):
    fields = {f"{kind}_{metric}": None for kind in ("predicted", "actual") for metric in Prediction.METRICS}
    return PredictionFactory(clip=clip, model_version=version, **{**fields, **values})


class TestAccuracy:
    def test_compares_versions(self, user_client, user):
        clip = ClipFactory(asset=AssetFactory(user=user))
        prediction(clip, "v1", predicted_roas=4.0, actual_roas=5.0)
        prediction(clip, "v1", predicted_roas=3.0, actual_roas=2.0)
        prediction(clip, "v2", predicted_roas=2.5, actual_roas=2.0)
        response = user_client.get(ACCURACY_URL)
        assert response.status_code == 200, response.data
        body = response.json()
        assert [(g["model_type"], g["model_version"]) for g in body] == [("roas", "v1"), ("roas", "v2")]
        roas = body[0]["metrics"][0]
        # errors −1 and +1: MAE 1, MAPE (1/5 + 1/2) / 2, RMSE 1, bias 0
        assert roas["metric"] == "roas"
        assert roas["n"] == 2
        assert roas["mae"] == pytest.approx(1.0)
        assert roas["mape"] == pytest.approx(0.35)
        assert roas["rmse"] == pytest.approx(1.0)
        assert roas["bias"] == pytest.approx(0.0)
        assert body[1]["metrics"][0]["bias"] == pytest.approx(0.5)

    def test_values_near_a_doubles_limits_do_not_break_the_report(self, user_client, user):
        # Any double is a valid value, but their squares, sums and ratios overflowed double precision in the
        # database: the whole report was a 400 ("number out of range"). Found by `make fuzz`.
        clip = ClipFactory(asset=AssetFactory(user=user))
        prediction(clip, "v1", predicted_roas=1.5e308, actual_roas=-1.5e308)
        prediction(clip, "v1", predicted_roas=1e300, actual_roas=1e-300)
        prediction(clip, "v1", predicted_ctr=1e200, actual_ctr=1.0)
        response = user_client.get(ACCURACY_URL)
        assert response.status_code == 200, response.content
        metrics = {entry["metric"]: entry for entry in response.json()[0]["metrics"]}
        # errors 3e308 and 1e300: their mean fits a double, the root of their mean square (2.1e308) does not
        assert metrics["roas"]["bias"] == pytest.approx(1.5e308)
        assert metrics["roas"]["rmse"] is None and "rmse" in metrics["roas"]["undefined"]
        assert metrics["ctr"]["rmse"] == pytest.approx(1e200)

    def test_filters(self, user_client, user):
        clip = ClipFactory(asset=AssetFactory(user=user))
        prediction(clip, "v1", predicted_roas=1.0, actual_roas=1.0)
        prediction(clip, "v2", predicted_roas=1.0, actual_roas=1.0, model_type="ctr")
        assert [g["model_version"] for g in user_client.get(ACCURACY_URL, {"model_version": "v2"}).json()] == ["v2"]
        assert [g["model_type"] for g in user_client.get(ACCURACY_URL, {"model_type": "roas"}).json()] == ["roas"]

    def test_only_the_callers_predictions_count(self, user_client, user, admin_client_api):
        prediction(ClipFactory(asset=AssetFactory(user=user)), "mine", predicted_roas=1.0, actual_roas=2.0)
        prediction(ClipFactory(), "theirs", predicted_roas=1.0, actual_roas=2.0)
        assert [g["model_version"] for g in user_client.get(ACCURACY_URL).json()] == ["mine"]
        assert {g["model_version"] for g in admin_client_api.get(ACCURACY_URL).json()} == {"mine", "theirs"}

    def test_deleted_clips_do_not_count(self, user_client, user):
        clip = ClipFactory(asset=AssetFactory(user=user))
        prediction(clip, "v1", predicted_roas=1.0, actual_roas=2.0)
        clip.soft_delete()
        assert user_client.get(ACCURACY_URL).json() == []

    def test_anonymous_is_a_401(self, api_client):
        assert api_client.get(ACCURACY_URL).status_code == 401


def test_schema_documents_the_endpoints(admin_client_api):
    paths = admin_client_api.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "/api/v1/performance-metrics/ingest/" in paths
    parameters = {p["name"] for p in paths["/api/v1/predictions/accuracy/"]["get"]["parameters"]}
    assert {"model_version", "model_type"} <= parameters


VALID_ITEM = {
    "asset": "5c4e0000-0000-4000-8000-000000000001",
    "platform": "google",
    "date": "2025-06-01",
    "impressions": 10_000,
    "clicks": 250,
    "conversions": 12,
    "spend": "125.00",
    "revenue": "500.00",
    "roas": "4.00",
    "ctr": "0.0250",
    "raw_data": {"campaign": "summer"},
}
ITEM_VARIANTS = [
    {},
    {"impressions": 3.0},
    {"impressions": "3"},
    {"impressions": True},
    {"impressions": -1},
    {"impressions": 2**63},
    {"impressions": 2**63 - 1},
    {"clicks": None},
    {"date": "2025-02-30"},
    {"date": "20250601"},
    {"date": "2025-6-1"},
    {"date": 20250601},
    {"date": "2025-06-01T00:00:00"},
    {"platform": ""},
    {"platform": " meta"},
    {"platform": "x" * 51},
    {"spend": 1.5},
    {"ctr": "1.5"},
    {"ctr": None},
    {"raw_data": None},
    {"raw_data": [1, "x"]},
    {"asset": "not-a-uuid"},
]


@pytest.mark.parametrize("change", ITEM_VARIANTS, ids=[repr(variant)[:40] for variant in ITEM_VARIANTS])
@pytest.mark.parametrize("drop", [None, "platform", "impressions", "spend", "roas", "raw_data", "date"])
def test_fast_item_validation_is_drfs(change, drop):
    """The batch validator's fast path (gateway/api/validation.py) answers as DRF does, defaults included."""
    item = {**VALID_ITEM, **change}
    if drop and drop not in change:
        item.pop(drop)
    fast = FastItemValidator(PerformanceMetricIngestItemSerializer(), json_checked=True)
    assert fast.checks is not None
    expected = outcome(PerformanceMetricIngestItemSerializer().run_validation, item)
    actual = outcome(fast.run_validation, item)
    assert actual == expected
    if expected[0] == "ok":
        assert list(actual[1]) == list(expected[1])
        assert [type(value) for value in actual[1].values()] == [type(value) for value in expected[1].values()]


def outcome(validate, item):
    try:
        return "ok", dict(validate(item))
    except serializers.ValidationError as error:
        return "error", error.detail
