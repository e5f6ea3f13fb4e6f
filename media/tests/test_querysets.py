"""Named reads of media rows: who may see what, live and deleted rows, top clips."""

import pytest

from gateway.tests.queryset_cases import VisibleToCases
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
