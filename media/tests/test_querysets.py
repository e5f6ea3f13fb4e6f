"""Named reads of media rows: who may see what, live and deleted rows, top clips."""

import datetime
from decimal import Decimal

import pytest
from django.db import models
from django.utils import timezone

from gateway.tests.queryset_cases import VisibleToCases
from media.choices import AssetStatus, ClipStatus
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import Asset, Clip, PerformanceMetric, Prediction
from users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_owners():
    """Two users, each with an asset holding a clip with a prediction, and a day of metrics."""
    rows = {}
    for name in ("mine", "theirs"):
        owner = UserFactory()
        asset = AssetFactory(user=owner)
        clip = ClipFactory(asset=asset)
        rows[name] = {
            "owner": owner,
            Asset: asset,
            Clip: clip,
            Prediction: PredictionFactory(clip=clip),
            PerformanceMetric: PerformanceMetricFactory(asset=asset),
        }
    return rows


@pytest.mark.parametrize("model", [Asset, Clip, Prediction, PerformanceMetric])
class TestVisibleTo(VisibleToCases):
    """``visible_to`` and ``owned_by`` (cases in ``gateway/tests/queryset_cases.py``)."""


class TestAliveAndDeleted:
    def test_alive_and_deleted_split_the_rows(self):
        live, gone = AssetFactory(), AssetFactory()
        gone.soft_delete()
        assert list(Asset.all_objects.alive()) == [live]
        assert list(Asset.all_objects.deleted()) == [gone]

    def test_the_default_manager_is_the_live_rows(self):
        live = ClipFactory()
        ClipFactory().soft_delete()
        assert list(Clip.objects.all()) == [live]
        assert list(Clip.objects.deleted()) == []


class TestTopClips:
    def test_best_score_first_without_unscored_or_deleted_clips(self):
        asset = AssetFactory()
        low, high = ClipFactory(asset=asset, score=0.2), ClipFactory(asset=asset, score=0.9)
        ClipFactory(asset=asset, score=None)
        ClipFactory(asset=asset, score=1.0).soft_delete()
        assert list(Clip.all_objects.top()) == [high, low]

    def test_limited_to_an_asset_a_minimum_and_a_count(self):
        asset = AssetFactory()
        best, second = ClipFactory(asset=asset, score=0.9), ClipFactory(asset=asset, score=0.8)
        ClipFactory(asset=asset, score=0.1)
        ClipFactory(score=0.95)  # another asset
        assert list(Clip.objects.top(asset=asset, min_score=0.5)) == [best, second]
        assert list(Clip.objects.top(asset=asset, limit=1)) == [best]


class TestDashboardReads:
    def test_daily_totals_sum_each_day_in_the_range(self):
        day = datetime.date(2026, 3, 10)
        PerformanceMetricFactory(date=day, spend=Decimal("10.00"), clicks=5)
        PerformanceMetricFactory(date=day, spend=Decimal("2.50"), clicks=1)
        PerformanceMetricFactory(date=day + datetime.timedelta(days=1), spend=Decimal("1.00"))
        PerformanceMetricFactory(date=day + datetime.timedelta(days=5), spend=Decimal("99.00"))
        rows = list(PerformanceMetric.objects.daily_totals(date_from=day, date_to=day + datetime.timedelta(days=1)))
        assert [(row["date"], row["spend"], row["clicks"]) for row in rows] == [
            (day, Decimal("12.50"), 6),
            (day + datetime.timedelta(days=1), Decimal("1.00"), 300),
        ]

    def test_totals_over_each_range_in_one_query(self, django_assert_num_queries):
        day = datetime.date(2026, 3, 10)
        PerformanceMetricFactory(date=day, spend=Decimal("10.00"), conversions=2)
        PerformanceMetricFactory(date=day - datetime.timedelta(days=1), spend=Decimal("4.00"), conversions=1)
        with django_assert_num_queries(1):
            yesterday = day - datetime.timedelta(days=1)
            current, before, empty = PerformanceMetric.objects.totals_over(
                [(day, day), (yesterday, yesterday), (datetime.date(2020, 1, 1), datetime.date(2020, 1, 2))]
            )
        assert (current["spend"], current["conversions"]) == (Decimal("10.00"), 2)
        assert (before["spend"], before["conversions"]) == (Decimal("4.00"), 1)
        assert (empty["spend"], empty["conversions"]) == (0, 0)

    def test_failed_and_stuck_assets(self):
        failed = AssetFactory(status=AssetStatus.FAILED)
        stuck, recent = AssetFactory.create_batch(2, status=AssetStatus.PROCESSING)
        Asset.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=61))
        AssetFactory(status=AssetStatus.FAILED).soft_delete()
        assert list(Asset.objects.failed()) == [failed]
        assert list(Asset.objects.stuck_processing()) == [stuck]

    def test_clips_awaiting_scores(self):
        waiting = {ClipFactory(status=ClipStatus.PENDING).pk, ClipFactory(status=ClipStatus.ANALYZED).pk}
        ClipFactory(status=ClipStatus.SCORED)
        ClipFactory(status=ClipStatus.REJECTED)
        assert set(Clip.objects.awaiting_scores().values_list("pk", flat=True)) == waiting


class TestUpdateReturning:
    """``update_returning`` (``gateway.models.QuerySet``), on clips: JSON, timestamps and a database-computed column."""

    def test_answers_with_the_rows_as_the_database_holds_them(self, django_assert_num_queries):
        clip = ClipFactory(features={"scene": "beach"}, start_time=1.0, end_time=3.0, rank=2)
        with django_assert_num_queries(1):
            (written,) = Clip.objects.filter(pk=clip.pk).update_returning(
                features={"scene": "city", "cuts": [1, 2]}, end_time=5.5, rank=models.F("rank") + 1
            )
        stored = Clip.objects.get(pk=clip.pk)
        assert {field.attname: getattr(written, field.attname) for field in Clip._meta.concrete_fields} == {
            field.attname: getattr(stored, field.attname) for field in Clip._meta.concrete_fields
        }
        # Converted as a read converts them: JSON as Python values, the generated duration and F() evaluated.
        assert (written.features, written.duration, written.rank) == ({"scene": "city", "cuts": [1, 2]}, 4.5, 3)
        assert written._state.adding is False and written._state.db == "default"

    def test_changes_only_the_rows_the_queryset_selects(self):
        mine, theirs = UserFactory(), UserFactory()
        my_clips = ClipFactory.create_batch(2, asset=AssetFactory(user=mine), score=0.1)
        their_clip = ClipFactory(asset=AssetFactory(user=theirs), score=0.1)
        written = Clip.objects.owned_by(mine).update_returning(score=0.7)  # a filter across a join
        assert sorted(clip.pk for clip in written) == sorted(clip.pk for clip in my_clips)
        assert {clip.score for clip in written} == {0.7}
        assert Clip.objects.get(pk=their_clip.pk).score == 0.1

    def test_no_row_matched_is_an_empty_answer(self, django_assert_num_queries):
        ClipFactory(score=0.1)
        assert Clip.objects.filter(score__gt=0.5).update_returning(score=0.9) == []
        with django_assert_num_queries(0):
            assert Clip.objects.none().update_returning(score=0.9) == []
        assert not Clip.objects.filter(score=0.9).exists()

    @pytest.mark.parametrize(
        ("rows", "changes"),
        [
            (lambda: Clip.objects.all()[:1], {"score": 0.5}),
            (lambda: Clip.objects.all(), {}),
        ],
        ids=["sliced", "no-change"],
    )
    def test_refuses_what_update_refuses(self, rows, changes):
        clip = ClipFactory(score=0.1)
        with pytest.raises(TypeError):
            rows().update_returning(**changes)
        assert Clip.objects.get(pk=clip.pk).score == 0.1
