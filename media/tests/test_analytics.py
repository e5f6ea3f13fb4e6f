"""Performance-metrics ingestion (service) and prediction accuracy (selector)."""

import datetime
import math
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from media.analytics import performance_metric_derived, prediction_accuracy
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import PerformanceMetric, Prediction
from media.services import performance_metrics_ingest

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 6, 1)


def item(asset, **overrides):
    return {
        "asset": asset,
        "platform": "meta",
        "date": DAY,
        "impressions": 10_000,
        "clicks": 250,
        "conversions": 12,
        "spend": Decimal("125.00"),
        "revenue": Decimal("500.00"),
        **overrides,
    }


class TestPerformanceMetricsIngest:
    def test_creates_rows_and_computes_ctr_and_roas(self):
        asset = AssetFactory()
        result = performance_metrics_ingest(items=[item(asset), item(asset, date=DAY + datetime.timedelta(days=1))])
        assert (result["created"], result["updated"], result["errors"]) == (2, 0, [])
        row = PerformanceMetric.objects.get(asset=asset, date=DAY)
        assert row.ctr == Decimal("0.0250")  # 250 / 10,000
        assert row.roas == Decimal("4.00")  # 500 / 125
        assert [r["index"] for r in result["results"]] == [0, 1]
        assert result["results"][0]["id"] == row.id

    def test_repeated_day_is_updated_not_duplicated(self):
        asset = AssetFactory()
        performance_metrics_ingest(items=[item(asset, raw_data={"source": "first"})])
        first = PerformanceMetric.objects.get(asset=asset)
        result = performance_metrics_ingest(items=[item(asset, clicks=300, revenue=Decimal("250.00"))])
        assert (result["created"], result["updated"]) == (0, 1)
        row = PerformanceMetric.objects.get(asset=asset)
        assert row.id == first.id
        assert row.created_at == first.created_at
        assert row.clicks == 300
        assert row.ctr == Decimal("0.0300")
        assert row.roas == Decimal("2.00")
        assert row.raw_data == {"source": "first"}
        assert result["results"][0] == {"index": 0, "id": first.id, "created": False}

    def test_platform_is_part_of_the_key(self):
        asset = AssetFactory()
        result = performance_metrics_ingest(items=[item(asset), item(asset, platform="google")])
        assert result["created"] == 2

    def test_given_ctr_and_roas_are_kept(self):
        asset = AssetFactory()
        performance_metrics_ingest(items=[item(asset, ctr=Decimal("0.0300"), roas=Decimal("3.50"))])
        row = PerformanceMetric.objects.get(asset=asset)
        assert (row.ctr, row.roas) == (Decimal("0.0300"), Decimal("3.50"))

    def test_zero_denominators(self):
        asset = AssetFactory()
        performance_metrics_ingest(items=[item(asset, impressions=0, clicks=0, spend=Decimal("0"))])
        row = PerformanceMetric.objects.get(asset=asset)
        assert row.ctr is None
        assert row.roas == Decimal("0.00")

    def test_bad_items_are_reported_and_the_rest_written(self):
        asset = AssetFactory()
        result = performance_metrics_ingest(
            items=[
                item(asset),
                item(asset, date=DAY + datetime.timedelta(days=1), clicks=20_000),
                item(asset, date=DAY + datetime.timedelta(days=2), spend=Decimal("-1")),
                item(asset),
                item(asset, date=DAY + datetime.timedelta(days=3), ctr=Decimal("1.5")),
                item(asset, date=DAY + datetime.timedelta(days=4), spend=Decimal("0.01"), revenue=Decimal("9999999")),
            ]
        )
        assert result["created"] == 1
        errors = {error["index"]: error["errors"] for error in result["errors"]}
        assert errors[1] == {"clicks": ["Cannot exceed impressions (10000)."]}
        assert errors[2] == {"spend": ["Must not be negative."]}
        assert errors[3] == {"non_field_errors": ["Repeats item 0 (same asset, platform and date)."]}
        assert "ctr" in errors[4]
        assert "largest storable ROAS" in errors[5]["roas"][0]
        assert PerformanceMetric.objects.filter(asset=asset).count() == 1

    def test_empty_batch(self):
        assert performance_metrics_ingest(items=[]) == {"created": 0, "updated": 0, "errors": [], "results": []}

    def test_unknown_or_deleted_assets_are_item_errors(self):
        asset, deleted = AssetFactory(), AssetFactory()
        deleted.soft_delete()
        missing = uuid.uuid4()
        result = performance_metrics_ingest(items=[item(asset), item(missing), item(deleted)])
        assert result["created"] == 1
        assert result["errors"] == [
            {"index": 1, "errors": {"asset": [f"Unknown asset {missing}."]}},
            {"index": 2, "errors": {"asset": [f"Unknown asset {deleted.pk}."]}},
        ]

    def test_counts_beyond_bigint_are_item_errors(self):
        result = performance_metrics_ingest(items=[item(AssetFactory(), impressions=2**63)])
        assert "impressions" in result["errors"][0]["errors"]

    def test_a_batch_costs_two_queries(self):
        asset = AssetFactory()
        with CaptureQueriesContext(connection) as queries:
            performance_metrics_ingest(items=[item(asset, date=DAY + datetime.timedelta(days=n)) for n in range(50)])
        statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
        # the asset check and the upsert, however many items
        assert len(statements) == 2

    def test_derived_figures(self):
        derived = performance_metric_derived(impressions=3, clicks=1, spend=Decimal("3.00"), revenue=Decimal("10.00"))
        assert derived == {"ctr": Decimal("0.3333"), "roas": Decimal("3.33")}


def prediction(clip, version="v1", model_type="roas", **values):
    fields = {f"predicted_{metric}": None for metric in Prediction.METRICS}
    fields.update({f"actual_{metric}": None for metric in Prediction.METRICS})
    fields.update(values)
    return PredictionFactory(clip=clip, model_version=version, model_type=model_type, **fields)


@pytest.fixture
def predictions():
    """Two versions with hand-checkable errors (predicted, actual)."""
    clip = ClipFactory()
    # v1 ROAS: (4, 5), (3, 2), (2, 2), (1, 0): errors −1, +1, 0, +1.
    prediction(clip, "v1", predicted_roas=4.0, actual_roas=5.0, predicted_ctr=0.04, actual_ctr=0.05)
    prediction(clip, "v1", predicted_roas=3.0, actual_roas=2.0)
    prediction(clip, "v1", predicted_roas=2.0, actual_roas=2.0)
    prediction(clip, "v1", predicted_roas=1.0, actual_roas=0.0)
    prediction(clip, "v1", predicted_roas=9.0)  # no actuals yet
    # v2 ROAS: (5, 5), (2.5, 2): errors 0, +0.5.
    prediction(clip, "v2", predicted_roas=5.0, actual_roas=5.0)
    prediction(clip, "v2", predicted_roas=2.5, actual_roas=2.0)
    # another model type with the same version string
    prediction(clip, "v1", model_type="ctr", predicted_ctr=0.02, actual_ctr=0.01)
    return clip


def group(report, model_type, version):
    return next(g for g in report if (g["model_type"], g["model_version"]) == (model_type, version))


def metric(group_, name):
    return next(m for m in group_["metrics"] if m["metric"] == name)


class TestPredictionAccuracy:
    def test_figures_per_version_and_metric(self, predictions):
        report = prediction_accuracy()
        v1 = group(report, "roas", "v1")
        assert (v1["predictions"], v1["with_actuals"]) == (5, 4)
        roas = metric(v1, "roas")
        assert roas["n"] == 4
        assert roas["mae"] == pytest.approx(3 / 4)  # (1 + 1 + 0 + 1) / 4
        assert roas["mape_n"] == 3  # the actual of 0 is left out of MAPE only
        assert roas["mape"] == pytest.approx((1 / 5 + 1 / 2 + 0) / 3)
        assert roas["rmse"] == pytest.approx(math.sqrt(3 / 4))
        assert roas["bias"] == pytest.approx((-1 + 1 + 0 + 1) / 4)
        ctr = metric(v1, "ctr")
        assert (ctr["n"], ctr["mae"], ctr["bias"]) == (1, pytest.approx(0.01), pytest.approx(-0.01))
        assert [m["metric"] for m in v1["metrics"]] == ["roas", "ctr"]

    def test_versions_are_compared_side_by_side(self, predictions):
        report = prediction_accuracy(model_type="roas")
        assert [(g["model_type"], g["model_version"]) for g in report] == [("roas", "v1"), ("roas", "v2")]
        v2 = metric(group(report, "roas", "v2"), "roas")
        assert v2["mae"] == pytest.approx(0.25)
        assert v2["mape"] == pytest.approx((0 + 0.25) / 2)
        assert v2["rmse"] == pytest.approx(math.sqrt(0.125))
        assert v2["bias"] == pytest.approx(0.25)

    def test_filter_by_version(self, predictions):
        report = prediction_accuracy(model_version="v2")
        assert [g["model_version"] for g in report] == ["v2"]

    def test_model_types_are_kept_apart(self, predictions):
        other = group(prediction_accuracy(model_version="v1"), "ctr", "v1")
        assert other["predictions"] == 1
        assert metric(other, "ctr")["mae"] == pytest.approx(0.01)

    def test_all_zero_actuals_leave_mape_undefined(self):
        prediction(ClipFactory(), "v9", predicted_cpc=1.0, actual_cpc=0.0)
        cpc = metric(group(prediction_accuracy(model_version="v9"), "roas", "v9"), "cpc")
        assert cpc["mape"] is None
        assert cpc["undefined"]["mape"]
        assert cpc["mae"] == pytest.approx(1.0)

    def test_version_without_actuals_has_no_metrics(self):
        prediction(ClipFactory(), "v0", predicted_roas=2.0)
        v0 = group(prediction_accuracy(), "roas", "v0")
        assert v0["with_actuals"] == 0
        assert v0["metrics"] == []

    def test_no_predictions_gives_an_empty_report(self):
        assert prediction_accuracy() == []

    def test_respects_a_scoped_queryset(self, predictions):
        mine = ClipFactory()
        prediction(mine, "mine", predicted_roas=1.0, actual_roas=1.0)
        report = prediction_accuracy(queryset=Prediction.objects.filter(clip__asset__user=mine.asset.user))
        assert [g["model_version"] for g in report] == ["mine"]

    def test_is_one_query(self, predictions, django_assert_num_queries):
        with django_assert_num_queries(1):
            prediction_accuracy()


def test_performance_metric_factory_rows_are_updated_by_ingest():
    existing = PerformanceMetricFactory(date=DAY, clicks=1)
    result = performance_metrics_ingest(items=[item(existing.asset)])
    assert result["updated"] == 1
    existing.refresh_from_db()
    assert existing.clicks == 250
