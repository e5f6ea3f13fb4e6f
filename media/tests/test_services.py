"""media.services: asset and clip status transitions, clip scores, prediction actuals and error."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from media.choices import AssetStatus, ClipStatus
from media.factories import AssetFactory, ClipFactory, PredictionFactory
from media.models import Asset, Clip, Prediction
from media.services import (
    ASSET_TRANSITIONS,
    CLIP_TRANSITIONS,
    asset_change_status,
    clip_change_status,
    clip_set_scores,
    prediction_error,
    prediction_record_actuals,
)

pytestmark = pytest.mark.django_db


def moves(factory, change_status, transitions, statuses):
    """Every change from one of ``statuses`` to another, each a test case named after its model."""
    name = factory._meta.model.__name__
    return [
        pytest.param(factory, change_status, transitions, current, target, id=f"{name}:{current}->{target}")
        for current in statuses
        for target in statuses
        if current != target
    ]


@pytest.mark.parametrize(
    ("factory", "change_status", "transitions", "current", "target"),
    [
        *moves(AssetFactory, asset_change_status, ASSET_TRANSITIONS, AssetStatus),
        *moves(ClipFactory, clip_change_status, CLIP_TRANSITIONS, ClipStatus),
    ],
)
def test_every_transition_is_allowed_or_refused_as_the_table_says(factory, change_status, transitions, current, target):
    row = factory(status=current)
    model = factory._meta.model
    argument = model._meta.model_name  # the services name their row after its model: asset=, clip=
    if target in transitions[current]:
        change_status(**{argument: row, "status": target})
        assert model.objects.get(pk=row.pk).status == target
    else:
        with pytest.raises(ValidationError) as error:
            change_status(**{argument: row, "status": target})
        assert f"Allowed from {current}" in error.value.message_dict["status"][0]
        assert model.objects.get(pk=row.pk).status == current


class TestAssetChangeStatus:
    def test_staying_put_is_allowed(self):
        asset = asset_change_status(asset=AssetFactory(status=AssetStatus.ARCHIVED), status=AssetStatus.ARCHIVED)
        assert asset.status == AssetStatus.ARCHIVED

    def test_archived_may_only_come_back_as_ready(self):
        asset = AssetFactory(status=AssetStatus.ARCHIVED)
        with pytest.raises(ValidationError) as error:
            asset_change_status(asset=asset, status=AssetStatus.PROCESSING)
        assert error.value.message_dict["status"] == [
            "Cannot change status from ARCHIVED to PROCESSING. Allowed from ARCHIVED: READY."
        ]

    def test_failing_records_the_error(self):
        asset = asset_change_status(
            asset=AssetFactory(status=AssetStatus.PROCESSING), status=AssetStatus.FAILED, processing_error="bad codec"
        )
        assert Asset.objects.get(pk=asset.pk).processing_error == "bad codec"

    def test_leaving_failed_clears_the_old_error(self):
        asset = AssetFactory(status=AssetStatus.FAILED, processing_error="bad codec")
        asset_change_status(asset=asset, status=AssetStatus.PROCESSING)
        assert Asset.objects.get(pk=asset.pk).processing_error is None

    def test_a_new_error_text_is_kept_on_any_status(self):
        asset = AssetFactory(status=AssetStatus.PENDING)
        asset_change_status(asset=asset, status=AssetStatus.PROCESSING, processing_error="retrying")
        assert Asset.objects.get(pk=asset.pk).processing_error == "retrying"

    def test_failing_again_without_an_error_keeps_the_old_one(self):
        asset = AssetFactory(status=AssetStatus.FAILED, processing_error="bad codec")
        assert asset_change_status(asset=asset, status=AssetStatus.FAILED).processing_error == "bad codec"

    def test_is_one_update_that_answers_with_the_row(self):
        asset = AssetFactory(status=AssetStatus.PROCESSING)
        with CaptureQueriesContext(connection) as captured:
            answer = asset_change_status(asset=asset, status=AssetStatus.FAILED, processing_error="bad codec")
        statements = [query["sql"].split(None, 1)[0] for query in captured.captured_queries]
        assert [statement for statement in statements if statement not in ("SAVEPOINT", "RELEASE")] == ["UPDATE"]
        assert (answer.status, answer.processing_error) == (AssetStatus.FAILED, "bad codec")
        assert answer.updated_at == Asset.objects.get(pk=asset.pk).updated_at

    def test_the_transition_is_decided_on_the_row_not_the_object_passed_in(self):
        asset = AssetFactory(status=AssetStatus.PENDING)
        Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.ARCHIVED)  # the object is stale
        with pytest.raises(ValidationError) as error:
            asset_change_status(asset=asset, status=AssetStatus.PROCESSING)
        assert error.value.message_dict["status"] == [
            "Cannot change status from ARCHIVED to PROCESSING. Allowed from ARCHIVED: READY."
        ]
        assert Asset.objects.get(pk=asset.pk).status == AssetStatus.ARCHIVED

    def test_an_asset_deleted_meanwhile_is_not_found(self):
        asset = AssetFactory(status=AssetStatus.PROCESSING)
        Asset.all_objects.filter(pk=asset.pk).delete()
        with pytest.raises(Asset.DoesNotExist):
            asset_change_status(asset=asset, status=AssetStatus.READY)

    def test_works_on_a_soft_deleted_asset(self):
        asset = AssetFactory(status=AssetStatus.READY)
        asset.soft_delete()
        asset_change_status(asset=asset, status=AssetStatus.ARCHIVED)
        assert Asset.all_objects.get(pk=asset.pk).status == AssetStatus.ARCHIVED


class TestClipSetScores:
    def test_sets_scores_and_rank(self):
        clip = clip_set_scores(
            clip=ClipFactory(status=ClipStatus.SCORED),
            score=0.9,
            viral_score=0.8,
            engagement_score=0.7,
            brand_safety_score=1.0,
            rank=2,
        )
        stored = Clip.objects.get(pk=clip.pk)
        assert (stored.score, stored.viral_score, stored.engagement_score, stored.brand_safety_score, stored.rank) == (
            0.9,
            0.8,
            0.7,
            1.0,
            2,
        )

    @pytest.mark.parametrize("status", [ClipStatus.PENDING, ClipStatus.ANALYZED])
    def test_a_score_marks_an_unscored_clip_scored(self, status):
        clip = clip_set_scores(clip=ClipFactory(status=status, score=None), score=0.5)
        assert Clip.objects.get(pk=clip.pk).status == ClipStatus.SCORED

    def test_a_score_leaves_a_published_clip_published(self):
        clip = clip_set_scores(clip=ClipFactory(status=ClipStatus.PUBLISHED), score=0.5)
        assert clip.status == ClipStatus.PUBLISHED

    def test_other_scores_alone_do_not_change_the_status(self):
        clip = clip_set_scores(clip=ClipFactory(status=ClipStatus.PENDING, score=None), viral_score=0.4)
        assert clip.status == ClipStatus.PENDING

    def test_explicit_status_follows_the_transitions(self):
        clip = clip_set_scores(clip=ClipFactory(status=ClipStatus.SCORED), score=0.6, status=ClipStatus.PUBLISHED)
        assert Clip.objects.get(pk=clip.pk).status == ClipStatus.PUBLISHED
        with pytest.raises(ValidationError) as error:
            clip_set_scores(clip=clip, score=0.7, status=ClipStatus.PENDING)
        assert "status" in error.value.message_dict
        assert Clip.objects.get(pk=clip.pk).score == 0.6

    def test_none_clears_a_score(self):
        clip = clip_set_scores(clip=ClipFactory(viral_score=0.3), viral_score=None)
        assert Clip.objects.get(pk=clip.pk).viral_score is None

    @pytest.mark.parametrize(
        "scores", [{"score": 1.5}, {"viral_score": -0.1}, {"engagement_score": 2}, {"brand_safety_score": -1}]
    )
    def test_scores_outside_the_unit_interval_are_refused(self, scores):
        clip = ClipFactory(score=0.2)
        with pytest.raises(ValidationError):
            clip_set_scores(clip=clip, **scores)
        assert Clip.objects.get(pk=clip.pk).score == 0.2

    def test_rank_below_one_is_refused(self):
        with pytest.raises(ValidationError):
            clip_set_scores(clip=ClipFactory(), rank=0)

    def test_unknown_score_fields_are_refused(self):
        with pytest.raises(ValidationError) as error:
            clip_set_scores(clip=ClipFactory(), popularity=0.5)
        assert "popularity" in error.value.message_dict


class TestPredictionError:
    def test_is_the_mean_absolute_percentage_error_as_a_fraction(self):
        prediction = Prediction(predicted_roas=3.0, actual_roas=4.0, predicted_ctr=0.02, actual_ctr=0.025)
        # (|3 - 4| / 4 + |0.02 - 0.025| / 0.025) / 2 = (0.25 + 0.2) / 2
        assert prediction_error(prediction) == pytest.approx(0.225)

    def test_is_relative_to_the_actual_value(self):
        assert prediction_error(Prediction(predicted_cpc=2.0, actual_cpc=1.0)) == pytest.approx(1.0)
        assert prediction_error(Prediction(predicted_cpc=1.0, actual_cpc=2.0)) == pytest.approx(0.5)

    def test_skips_metrics_with_a_zero_actual(self):
        prediction = Prediction(predicted_roas=3.0, actual_roas=0, predicted_cpa=10.0, actual_cpa=8.0)
        assert prediction_error(prediction) == pytest.approx(0.25)

    def test_skips_metrics_without_a_prediction_or_an_actual(self):
        prediction = Prediction(predicted_roas=None, actual_roas=4.0, predicted_ctr=0.1, actual_ctr=None)
        assert prediction_error(prediction) is None

    def test_uses_the_absolute_value_of_a_negative_actual(self):
        assert prediction_error(Prediction(predicted_engagement=-1.0, actual_engagement=-2.0)) == pytest.approx(0.5)

    def test_a_perfect_prediction_has_no_error(self):
        assert prediction_error(Prediction(predicted_roas=2.5, actual_roas=2.5)) == 0

    def test_skips_a_metric_whose_error_is_beyond_a_double(self):
        prediction = Prediction(predicted_roas=1.7e308, actual_roas=-1.7e308, predicted_cpa=10.0, actual_cpa=8.0)
        assert prediction_error(prediction) == pytest.approx(0.25)

    def test_errors_near_a_doubles_limit_average_without_overflowing(self):
        prediction = Prediction(predicted_roas=1.5e308, actual_roas=1.0, predicted_cpa=1.5e308, actual_cpa=1.0)
        assert prediction_error(prediction) == pytest.approx(1.5e308)


class TestPredictionRecordActuals:
    def test_stores_actuals_and_the_error(self):
        prediction = PredictionFactory(predicted_roas=3.0, predicted_ctr=None, predicted_cpc=None, predicted_cpa=None)
        prediction = prediction_record_actuals(prediction=prediction, actual_roas=2.0, actual_ctr=0.03)
        stored = Prediction.objects.get(pk=prediction.pk)
        assert (stored.actual_roas, stored.actual_ctr) == (2.0, 0.03)
        assert stored.prediction_error == pytest.approx(0.5)

    def test_later_actuals_are_combined_with_earlier_ones(self):
        prediction = PredictionFactory(
            predicted_roas=3.0, predicted_ctr=0.02, predicted_cpc=None, predicted_cpa=None, predicted_engagement=None
        )
        prediction_record_actuals(prediction=prediction, actual_roas=4.0)
        prediction = prediction_record_actuals(prediction=prediction, actual_ctr=0.025)
        assert prediction.prediction_error == pytest.approx(0.225)

    def test_refuses_unknown_metrics(self):
        prediction = PredictionFactory()
        with pytest.raises(ValidationError) as error:
            prediction_record_actuals(prediction=prediction, actual_views=10)
        assert "actual_views" in error.value.message_dict
        assert Prediction.objects.get(pk=prediction.pk).prediction_error is None

    def test_refuses_an_empty_call(self):
        with pytest.raises(ValidationError) as error:
            prediction_record_actuals(prediction=PredictionFactory())
        assert "actuals" in error.value.message_dict


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [None, ClipStatus.SCORED])
def test_a_score_update_is_one_update_that_answers_with_the_row(status):
    """No transaction of its own, no locked read first and no read after (it was 31 statements: nine SELECTs
    asked the database's CHECKs, then the locked read and the update; then an update and a read)."""
    clip = ClipFactory(score=0.2, status=ClipStatus.PENDING)
    with CaptureQueriesContext(connection) as captured:
        answer = clip_set_scores(clip=clip, score=0.9, viral_score=0.5, status=status)
    statements = [query["sql"].split(None, 1)[0].upper() for query in captured.captured_queries]
    assert statements == ["UPDATE"]
    assert Clip.objects.values_list("score", "status").get(pk=clip.pk) == (0.9, ClipStatus.SCORED)
    assert (answer.score, answer.viral_score, answer.status) == (0.9, 0.5, ClipStatus.SCORED)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [None, ClipStatus.SCORED])
def test_a_score_update_that_waited_for_the_row_is_stamped_after_the_write_it_waited_for(status):
    """``updated_at`` is read from the clock once the writer it waited for has committed, so one row's stamps
    follow the order its writes commit in (a stamp taken before the statement would be older than that
    writer's)."""
    clip = ClipFactory(score=0.2, status=ClipStatus.PENDING)

    def score():
        clip_set_scores(clip=clip, score=0.9, status=status)
        connection.close()

    waiting = threading.Thread(target=score)
    with transaction.atomic():
        Clip.objects.filter(pk=clip.pk).update(rank=5, updated_at=timezone.now())  # another writer's write
        waiting.start()
        time.sleep(0.3)  # the score update is waiting for this row by now
        committed = timezone.now()
    waiting.join(timeout=30)
    stored = Clip.objects.get(pk=clip.pk)
    assert (stored.score, stored.rank) == (0.9, 5)
    assert stored.updated_at >= committed


@pytest.mark.django_db(transaction=True)
def test_a_status_not_allowed_from_the_current_one_is_refused_and_nothing_is_written():
    clip = ClipFactory(score=0.2, status=ClipStatus.PENDING)
    with pytest.raises(ValidationError) as error:
        clip_set_scores(clip=clip, score=0.9, status=ClipStatus.PUBLISHED)
    assert error.value.message_dict == {
        "status": ["Cannot change status from PENDING to PUBLISHED. Allowed from PENDING: ANALYZED, REJECTED, SCORED."]
    }
    assert Clip.objects.values_list("score", "status").get(pk=clip.pk) == (0.2, ClipStatus.PENDING)


@pytest.mark.django_db(transaction=True)
def test_the_automatic_scored_is_decided_on_the_row_as_the_update_finds_it():
    """The clip object passed in is stale (PENDING): the row is PUBLISHED by now, and stays so."""
    clip = ClipFactory(score=0.2, status=ClipStatus.PENDING)
    Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.PUBLISHED)
    assert clip_set_scores(clip=clip, score=0.9).status == ClipStatus.PUBLISHED


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"score": 1.5}, {"score": ["Ensure this value is less than or equal to 1.0."]}),
        ({"viral_score": -0.1}, {"viral_score": ["Ensure this value is greater than or equal to 0."]}),
        ({"rank": 0}, {"rank": ["Ensure this value is greater than or equal to 1."]}),
    ],
)
def test_out_of_range_scores_are_refused_in_the_apis_words(db, scores, message):
    with pytest.raises(ValidationError) as error:
        clip_set_scores(clip=ClipFactory(), **scores)
    assert error.value.message_dict == message
