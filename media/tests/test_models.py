"""Database-level rules of assets, clips, predictions and performance metrics (helpers: gateway.tests.model_helpers)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from campaigns.factories import ConversionFactory
from gateway.tests.model_helpers import (
    assert_check_rejects,
    assert_deleting_parent_deletes,
    cased_constraints,
    check_case,
    constraints_of,
    refused_by,
)
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import UNIT_INTERVAL_SCORES, Asset, Clip, PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db


def _score_cases():
    for field in UNIT_INTERVAL_SCORES:
        for value in (-0.01, 1.01):
            yield check_case(ClipFactory, f"media_clip_{field}_in_unit_interval", {field: value})


# (factory, constraint, values that break it). Several rows may cover one constraint from both sides.
CHECK_CASES = [
    check_case(AssetFactory, "media_asset_file_size_non_negative", {"file_size": -1}),
    check_case(AssetFactory, "media_asset_duration_non_negative", {"duration": -0.5}),
    check_case(AssetFactory, "media_asset_width_positive", {"width": 0}),
    check_case(AssetFactory, "media_asset_height_positive", {"height": 0}),
    check_case(AssetFactory, "media_asset_fps_positive", {"fps": 0}),
    check_case(AssetFactory, "media_asset_bitrate_non_negative", {"bitrate": -1}),
    check_case(AssetFactory, "media_asset_status_valid", {"status": "DELETED"}),
    check_case(AssetFactory, "media_asset_status_valid", {"status": "ready"}),
    check_case(ClipFactory, "media_clip_start_time_non_negative", {"start_time": -1.0}),
    check_case(ClipFactory, "media_clip_end_after_start", {"end_time": F("start_time")}, label="end=start"),
    check_case(ClipFactory, "media_clip_end_after_start", {"end_time": F("start_time") - 1}, label="end<start"),
    check_case(ClipFactory, "media_clip_face_count_non_negative", {"face_count": -1}),
    check_case(ClipFactory, "media_clip_rank_positive", {"rank": 0}),
    check_case(ClipFactory, "media_clip_status_valid", {"status": "DRAFT"}),
    *_score_cases(),
    check_case(PredictionFactory, "media_prediction_confidence_in_unit_interval", {"confidence": -0.1}),
    check_case(PredictionFactory, "media_prediction_confidence_in_unit_interval", {"confidence": 1.1}),
    check_case(PredictionFactory, "media_prediction_prediction_error_non_negative", {"prediction_error": -0.1}),
    check_case(PerformanceMetricFactory, "media_performancemetric_impressions_non_negative", {"impressions": -1}),
    check_case(PerformanceMetricFactory, "media_performancemetric_clicks_non_negative", {"clicks": -1}),
    check_case(PerformanceMetricFactory, "media_performancemetric_conversions_non_negative", {"conversions": -1}),
    check_case(PerformanceMetricFactory, "media_performancemetric_spend_non_negative", {"spend": Decimal("-0.01")}),
    check_case(PerformanceMetricFactory, "media_performancemetric_revenue_non_negative", {"revenue": Decimal("-0.01")}),
]
UNIQUE_CONSTRAINTS_TESTED = {"media_asset_gcs_url_unique", "media_performancemetric_asset_platform_date_unique"}


def test_every_declared_constraint_has_a_test():
    assert (
        constraints_of(Asset, Clip, Prediction, PerformanceMetric)
        == cased_constraints(CHECK_CASES) | UNIQUE_CONSTRAINTS_TESTED
    )


@pytest.mark.parametrize(("factory", "constraint", "values"), CHECK_CASES)
def test_check_constraint_rejects_bad_row(factory, constraint, values):
    assert_check_rejects(factory, constraint, values)


def test_asset_gcs_url_is_unique():
    existing = AssetFactory()
    with refused_by("media_asset_gcs_url_unique"):
        AssetFactory(gcs_url=existing.gcs_url)


def test_performance_metric_is_unique_per_asset_platform_and_date():
    existing = PerformanceMetricFactory()
    constraint = "media_performancemetric_asset_platform_date_unique"
    with refused_by(constraint):
        PerformanceMetricFactory(asset=existing.asset, platform=existing.platform, date=existing.date)


def test_performance_metric_allows_same_day_on_another_platform():
    existing = PerformanceMetricFactory(platform="meta")
    PerformanceMetricFactory(asset=existing.asset, platform="google", date=existing.date)
    assert PerformanceMetric.objects.filter(asset=existing.asset, date=existing.date).count() == 2


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_clip_scores_accept_the_ends_of_the_unit_interval(value):
    clip = ClipFactory()
    Clip.objects.filter(pk=clip.pk).update(**dict.fromkeys(UNIT_INTERVAL_SCORES, value))
    clip.refresh_from_db()
    assert [getattr(clip, field) for field in UNIT_INTERVAL_SCORES] == [value] * len(UNIT_INTERVAL_SCORES)


def test_optional_asset_measurements_may_be_null():
    asset = AssetFactory(duration=None, width=None, height=None, fps=None, bitrate=None)
    assert Asset.objects.filter(pk=asset.pk, width__isnull=True, duration__isnull=True).exists()


class TestClipDuration:
    def test_equals_end_minus_start_after_create(self):
        clip = ClipFactory(start_time=2.5, end_time=10.0)
        assert Clip.objects.get(pk=clip.pk).duration == 7.5

    def test_is_returned_by_the_insert(self):
        clip = ClipFactory(start_time=2.5, end_time=10.0)
        assert clip.duration == 7.5

    def test_follows_save(self):
        clip = ClipFactory(start_time=2.5, end_time=10.0)
        clip.end_time = 20.0
        clip.save()
        assert Clip.objects.get(pk=clip.pk).duration == 17.5

    def test_follows_queryset_update(self):
        clip = ClipFactory(start_time=2.5, end_time=10.0)
        Clip.objects.filter(pk=clip.pk).update(start_time=F("start_time") + 1, end_time=F("end_time") + 4)
        assert Clip.objects.get(pk=clip.pk).duration == 10.5

    def test_follows_raw_sql_update(self):
        clip = ClipFactory(start_time=2.5, end_time=10.0)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE clips SET start_time = 0 WHERE id = %s", [clip.pk])
        assert Clip.objects.get(pk=clip.pk).duration == 10.0


class TestDeletingAnAsset:
    @pytest.mark.parametrize(
        ("factory", "parent_path"),
        [
            pytest.param(ClipFactory, "asset", id="its_clips"),
            pytest.param(PredictionFactory, "clip.asset", id="the_predictions_of_its_clips"),
            pytest.param(PerformanceMetricFactory, "asset", id="its_performance_metrics"),
        ],
    )
    def test_deletes(self, factory, parent_path):
        assert_deleting_parent_deletes(factory, parent_path)

    def test_deletes_its_soft_deleted_clips_too(self):
        clip = ClipFactory()
        clip.soft_delete()
        clip.asset.delete()
        assert not Clip.all_objects.filter(pk=clip.pk).exists()

    def test_leaves_other_assets_clips_alone(self):
        kept = ClipFactory()
        ClipFactory().asset.delete()
        assert list(Clip.all_objects.values_list("pk", flat=True)) == [kept.pk]


class TestDeletingAClip:
    def test_deletes_its_predictions(self):
        assert_deleting_parent_deletes(PredictionFactory, "clip")

    def test_keeps_the_conversions_attributed_to_it_without_attribution(self):
        clip = ClipFactory()
        conversion = ConversionFactory(attributed_clip=clip)
        clip.delete()
        conversion.refresh_from_db()
        assert conversion.attributed_clip_id is None
