"""``gateway.db.compiled.CompiledQuery``: Django's answer, with the SQL built and compiled once per shape."""

import uuid
from datetime import timedelta

import pytest
from django.db.models import F, Prefetch
from django.utils import timezone

from gateway.api.viewsets import DETAIL_ROWS, OBJECT_ROWS
from gateway.db.compiled import CompiledQuery
from media.api.views import ClipViewSet
from media.choices import ClipStatus
from media.factories import AssetFactory, ClipFactory, PredictionFactory
from media.models import Clip, Prediction
from users.choices import Role
from users.factories import UserFactory

pytestmark = pytest.mark.django_db


class Counted:
    """A builder that counts its calls: a compiled shape calls it twice (two sentinel sets), then never again."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self, **values):
        self.calls += 1
        return self.build(**values)


def columns(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.fixture
def clips():
    first, second = AssetFactory(), AssetFactory()
    return [
        *(ClipFactory(asset=first, score=score, rank=3, status=ClipStatus.SCORED) for score in (0.2, 0.6, 0.9)),
        *(ClipFactory(asset=second, score=score, rank=3, status=ClipStatus.SCORED) for score in (0.55, 0.7)),
    ]


def best_of_asset(asset, min_score):
    return Clip.objects.filter(asset=asset, score__gte=min_score).select_related("asset").order_by("-score", "id")


class TestReads:
    def test_answers_the_instances_django_answers_with_their_related_rows(self, clips, django_assert_num_queries):
        query = CompiledQuery(best_of_asset)
        for clip in clips:
            expected = list(best_of_asset(clip.asset_id, 0.5))
            with django_assert_num_queries(1):
                answer = query(asset=clip.asset_id, min_score=0.5)
            assert [columns(item) for item in answer] == [columns(item) for item in expected]
            assert [columns(item.asset) for item in answer] == [columns(item.asset) for item in expected]
            assert all(item._state.adding is False and item._state.db == "default" for item in answer)

    def test_builds_and_compiles_each_shape_once(self, clips):
        build = Counted(best_of_asset)
        query = CompiledQuery(build)
        for clip in clips:
            query(asset=clip.asset_id, min_score=clip.score)
        assert build.calls == 2
        assert query(asset=None, min_score=0.5) == []  # IS NULL: a shape of its own
        assert build.calls == 4

    def test_values_are_the_dicts_django_reads(self, clips):
        def scores(asset, min_score):
            return Clip.objects.filter(asset=asset, score__gte=min_score).order_by("score").values("id", "score")

        asset = clips[0].asset_id
        assert CompiledQuery(scores)(asset=asset, min_score=0.1) == list(scores(asset, 0.1))
        assert [row["score"] for row in CompiledQuery(scores)(asset=asset, min_score=0.5)] == [0.6, 0.9]

    def test_a_value_that_decides_the_sql_is_a_shape_of_its_own(self, clips):
        build = Counted(lambda asset, limit: Clip.objects.filter(asset=asset).order_by("-score")[:limit])
        query = CompiledQuery(build, shape=("limit",))
        asset = clips[0].asset_id
        assert [clip.score for clip in query(asset=asset, limit=1)] == [0.9]
        assert [clip.score for clip in query(asset=asset, limit=2)] == [0.9, 0.6]
        assert [clip.score for clip in query(asset=clips[3].asset_id, limit=1)] == [0.7]
        assert build.calls == 4  # two shapes, each compiled once

    def test_a_value_put_into_the_sql_text_but_not_declared_is_run_by_django_each_time(self, clips):
        build = Counted(lambda asset, limit: Clip.objects.filter(asset=asset).order_by("-score")[:limit])
        query = CompiledQuery(build)
        asset = clips[0].asset_id
        assert [clip.score for clip in query(asset=asset, limit=1)] == [0.9]
        assert [clip.score for clip in query(asset=asset, limit=2)] == [0.9, 0.6]
        assert build.calls == 2 + 2  # the first shape's two tries, then Django for each call

    @pytest.mark.parametrize(
        "build, values",
        [
            # Django changes the value on its way to the SQL: an icontains pattern, an int for a float column.
            (
                lambda text: Clip.objects.filter(asset__original_name__icontains=text),
                lambda clips: {"text": clips[0].asset.original_name[1:4]},
            ),
            (lambda min_score: Clip.objects.filter(score__gte=min_score), lambda clips: {"min_score": 0}),
            # A string where Django wants a UUID: Django converts (or refuses) it, as without a plan.
            (lambda asset: Clip.objects.filter(asset=asset), lambda clips: {"asset": str(clips[0].asset_id)}),
            # What a plan does not handle: prefetching.
            (
                lambda asset: Clip.objects.filter(asset=asset).prefetch_related(
                    Prefetch("predictions", queryset=Prediction.objects.order_by("id"))
                ),
                lambda clips: {"asset": clips[0].asset_id},
            ),
        ],
    )
    def test_what_cannot_be_kept_is_django_s_answer(self, clips, build, values):
        counted, values = Counted(build), values(clips)
        query = CompiledQuery(counted)
        assert query(**values) == list(build(**values)) != []
        calls = counted.calls
        assert query(**values) == list(build(**values))
        assert counted.calls == calls + 1  # no plan was kept: Django built it again

    def test_a_prefetching_read_keeps_django_s_prefetch(self, clips):
        PredictionFactory(clip=clips[1])
        query = CompiledQuery(lambda pk: Clip.objects.filter(pk=pk).prefetch_related("predictions"))
        (clip,) = query(pk=clips[1].pk)
        assert len(clip.predictions.all()) == 1

    def test_an_empty_queryset_answers_nothing(self, clips, django_assert_num_queries):
        query = CompiledQuery(lambda asset: Clip.objects.filter(asset=asset).none())
        with django_assert_num_queries(0):
            assert query(asset=clips[0].asset_id) == []


class TestInstances:
    """A model instance among the values: its primary key is a value, the fields named in ``instances`` a shape."""

    @pytest.fixture
    def owners(self, clips):
        return [clips[0].asset.user, clips[3].asset.user]

    def test_each_instance_gets_its_own_rows_from_one_compiled_shape(self, clips, owners):
        build = Counted(lambda user: Clip.objects.visible_to(user).order_by("score"))
        query = CompiledQuery(build, instances={"user": ("role",)})
        for owner in [*owners, *owners]:
            assert query(user=owner) == list(Clip.objects.visible_to(owner).order_by("score"))
        assert build.calls == 2
        for admin in (UserFactory(role=Role.ADMIN), UserFactory(role=Role.ADMIN)):
            assert query(user=admin) == list(Clip.objects.order_by("score"))
        assert build.calls == 4  # the role decides the SQL: a shape of its own, kept though it names no user

    def test_the_builder_sees_only_the_declared_fields_of_a_stand_in(self, clips, owners):
        """A builder that reads a field it did not declare cannot carry one caller's value to the next: its stand-in
        has none, so the shape is run by Django."""
        build = Counted(lambda user: Clip.objects.filter(asset__user__email=user.email))
        query = CompiledQuery(build, instances={"user": ("role",)})
        for owner in owners:
            assert query(user=owner) == list(Clip.objects.filter(asset__user=owner))
        assert build.calls == 2 + 2  # no plan kept: Django built it for each call


class TestUpdates:
    @staticmethod
    def rescore(pk, score, updated_at):
        return Clip.objects.filter(pk=pk), {"score": score, "rank": F("rank") + 1, "updated_at": updated_at}

    def test_answers_the_rows_update_returning_answers_in_one_statement(self, clips, django_assert_num_queries):
        query, now = CompiledQuery(self.rescore), timezone.now()
        for step, clip in enumerate(clips):
            with django_assert_num_queries(1):
                (written,) = query(pk=clip.pk, score=0.25, updated_at=now + timedelta(seconds=step))
            assert columns(written) == columns(Clip.objects.get(pk=clip.pk))
            assert (written.score, written.rank, written.updated_at) == (0.25, 4, now + timedelta(seconds=step))

    def test_writes_only_the_row_each_call_names(self, clips):
        query = CompiledQuery(self.rescore)
        query(pk=clips[0].pk, score=0.1, updated_at=timezone.now())
        query(pk=clips[1].pk, score=0.3, updated_at=timezone.now())
        assert [Clip.objects.get(pk=clip.pk).score for clip in clips] == [0.1, 0.3, 0.9, 0.55, 0.7]

    def test_a_row_that_is_gone_is_an_empty_answer(self, clips):
        assert CompiledQuery(self.rescore)(pk=uuid.uuid4(), score=0.1, updated_at=timezone.now()) == []


class TestObjectRows:
    """``ScopedModelViewSet.get_object`` reads its row by SQL compiled once per viewset, action and role
    (``gateway.api.viewsets.OBJECT_ROWS``); every caller still gets only the rows they may reach."""

    @pytest.fixture
    def mine(self, user):
        return ClipFactory(asset=AssetFactory(user=user))

    @pytest.fixture
    def theirs(self, other_user):
        return ClipFactory(asset=AssetFactory(user=other_user))

    def test_each_caller_reaches_only_their_own_rows_through_the_kept_sql(
        self, mine, theirs, user_client, other_client, admin_client_api
    ):
        for _ in range(2):
            assert user_client.get(f"/api/v1/clips/{mine.pk}/").json()["id"] == str(mine.pk)
            assert user_client.get(f"/api/v1/clips/{theirs.pk}/").status_code == 404
            assert other_client.get(f"/api/v1/clips/{mine.pk}/").status_code == 404
            assert other_client.get(f"/api/v1/clips/{theirs.pk}/").json()["id"] == str(theirs.pk)
            for clip in (mine, theirs):
                assert admin_client_api.get(f"/api/v1/clips/{clip.pk}/").json()["id"] == str(clip.pk)
            assert user_client.post(f"/api/v1/clips/{theirs.pk}/scores/", {"score": 0.5}).status_code == 404
        kept = {key: plan for key, plan in OBJECT_ROWS.plans.items() if ("viewset", True, ClipViewSet) in key}
        actions = {value for key in kept for name, _, value, *_ in key if name == "action"}
        assert {"retrieve", "scores"} <= actions
        assert all(plan is not None for plan in kept.values())

    def test_is_drfs_answer_with_a_query_string_or_a_lock(self, mine, user_client):
        """A query string (the filter backends read it) or a conditional write (the row is locked) go through DRF's
        ``get_object``: the same row, found the same way."""
        compiled = user_client.get(f"/api/v1/clips/{mine.pk}/")
        assert user_client.get(f"/api/v1/clips/{mine.pk}/", {"format": "json"}).json() == compiled.json()
        response = user_client.post(
            f"/api/v1/clips/{mine.pk}/scores/", {"score": 0.25}, HTTP_IF_MATCH=compiled.headers["ETag"]
        )
        assert response.status_code == 200
        assert response.json()["score"] == 0.25

    @pytest.mark.parametrize("key", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    def test_a_malformed_or_unknown_key_is_a_404(self, user_client, key):
        response = user_client.get(f"/api/v1/clips/{key}/")
        assert response.status_code == 404
        assert response.json()["detail"] == "Not found."

    def test_a_deleted_row_is_reached_only_where_deleted_rows_count(self, mine, user_client, admin_client_api):
        mine.soft_delete()
        assert user_client.get(f"/api/v1/clips/{mine.pk}/").status_code == 404
        assert admin_client_api.get(f"/api/v1/clips/{mine.pk}/").status_code == 404
        assert admin_client_api.post(f"/api/v1/clips/{mine.pk}/restore/").status_code == 200
        assert user_client.get(f"/api/v1/clips/{mine.pk}/").status_code == 200

    def test_a_writes_answer_carries_the_etag_of_the_detail_read_by_the_kept_sql(self, mine, user_client):
        """The ETag of a write's answer is that of the row's detail read again (``DETAIL_ROWS``, compiled once per
        viewset): the same a GET of the detail answers right after."""
        PredictionFactory(clip=mine)
        for score in (0.25, 0.75):
            written = user_client.post(f"/api/v1/clips/{mine.pk}/scores/", {"score": score})
            read = user_client.get(f"/api/v1/clips/{mine.pk}/")
            assert written.headers["ETag"] == read.headers["ETag"]
            assert read.json()["score"] == score
        assert DETAIL_ROWS.plans[(("pk", False, uuid.UUID, True), ("viewset", True, ClipViewSet))] is not None


def test_a_campaigns_conversion_totals_are_its_querysets_through_the_kept_sql():
    """``CampaignDetailSerializer``'s totals (a GROUP BY of ``values()`` with aggregates) compiled once."""
    from campaigns.api.serializers import CONVERSION_TOTALS
    from campaigns.factories import CampaignFactory, ConversionFactory
    from campaigns.models import Conversion

    campaigns = [CampaignFactory(), CampaignFactory()]
    for campaign, currencies in zip(campaigns, (["USD", "EUR", "USD"], ["GBP"]), strict=True):
        for currency in currencies:
            ConversionFactory(campaign=campaign, currency=currency)
    for campaign in [*campaigns, *campaigns]:
        expected = list(Conversion.objects.filter(campaign=campaign).totals_by_currency())
        assert CONVERSION_TOTALS(campaign=campaign.pk) == expected
    assert CONVERSION_TOTALS.plans and all(plan is not None for plan in CONVERSION_TOTALS.plans.values())


class TestReachableRows:
    """``ScopedPrimaryKeyRelatedField`` looks its row up by SQL compiled once per model and role."""

    def test_a_related_id_is_found_among_the_callers_rows_only(self, user, other_user):
        from rest_framework import serializers
        from rest_framework.test import APIRequestFactory

        from gateway.api.fields import ScopedPrimaryKeyRelatedField

        mine, theirs = AssetFactory(user=user), AssetFactory(user=other_user)
        for caller, reached, refused in [(user, mine, theirs), (other_user, theirs, mine)] * 2:
            request = APIRequestFactory().get("/")
            request.user = caller
            field = ScopedPrimaryKeyRelatedField(AssetFactory._meta.model)
            field._context = {"request": request}
            assert field.to_internal_value(str(reached.pk)) == reached
            with pytest.raises(serializers.ValidationError, match="exists or you may not use it"):
                field.to_internal_value(str(refused.pk))

    def test_a_subclass_with_rows_of_its_own_is_looked_up_by_drf(self, user):
        from gateway.api.fields import ScopedPrimaryKeyRelatedField

        asset = AssetFactory(user=user)

        class EveryRow(ScopedPrimaryKeyRelatedField):
            def get_queryset(self):
                return self.model.objects.all()

        field = EveryRow(AssetFactory._meta.model)
        field._context = {}  # no caller: the scoped lookup would find nothing
        assert field.to_internal_value(str(asset.pk)) == asset
