"""``gateway.db.compiled.CompiledQuery``: Django's answer, with the SQL built and compiled once per shape."""

import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.db.models import F, Prefetch
from django.utils import timezone

from gateway.api.representation import row_plan
from gateway.api.viewsets import DETAIL_ROWS, LIST_COUNT, LIST_ROWS, OBJECT_ROWS, list_rows
from gateway.db.compiled import CompiledQuery, CountOf
from gateway.paginator import CountedRows, EstimatedCountPaginator
from gateway.tests.test_query_counts import LISTS, routed_viewsets
from gateway.tests.test_query_counts import caller as api_caller
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


def by_score(min_score):
    return Clip.objects.filter(score__gte=min_score).order_by("-score", "id")


class TestWindows:
    """``window(start, stop)``: Django's slice of a read, its bounds sent as parameters (one plan for every page)."""

    @pytest.mark.parametrize(("start", "stop"), [(0, 2), (1, 3), (2, 10), (4, 5), (5, 9)])
    def test_a_window_is_djangos_slice(self, clips, start, stop, django_assert_num_queries):
        query = CompiledQuery(by_score)
        with django_assert_num_queries(1):
            answer = query.window(start, stop, min_score=0.5)
        assert [columns(clip) for clip in answer] == [columns(clip) for clip in by_score(0.5)[start:stop]]

    def test_every_window_runs_the_one_plan_of_the_unsliced_read(self, clips):
        build = Counted(lambda asset: Clip.objects.filter(asset=asset).order_by("score").values("score"))
        query = CompiledQuery(build)
        asset = clips[0].asset_id
        assert [query.window(start, start + 2, asset=asset) for start in (0, 1, 2)] == [
            [{"score": 0.2}, {"score": 0.6}],
            [{"score": 0.6}, {"score": 0.9}],
            [{"score": 0.9}],
        ]
        assert query(asset=asset) == list(build.build(asset=asset))  # the read itself: the same plan
        assert build.calls == 2

    def test_an_empty_window_runs_no_query(self, clips, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert CompiledQuery(by_score).window(2, 2, min_score=0.5) == []

    def test_a_read_sliced_by_its_builder_is_windowed_by_django(self, clips):
        build = Counted(lambda min_score: by_score(min_score)[1:])
        query = CompiledQuery(build)
        assert query.window(0, 2, min_score=0.5) == list(by_score(0.5)[1:][0:2])
        assert query.window(0, 2, min_score=0.5) == list(by_score(0.5)[1:3])
        assert build.calls == 2 + 2  # the plan is kept for plain calls; each window is Django's slice

    @pytest.mark.parametrize(("start", "stop"), [(-1, 2), (3, 2)])
    def test_bounds_out_of_order_are_refused(self, start, stop):
        with pytest.raises(ValueError, match="0 <= start <= stop"):
            CompiledQuery(by_score).window(start, stop, min_score=0.5)


class TestCounts:
    """A builder returning ``CountOf(queryset)`` answers ``queryset.count()``, by SQL compiled once per shape."""

    @pytest.mark.parametrize("limit", [None, 1, 2, 10])
    def test_a_count_is_djangos(self, clips, limit, django_assert_num_queries):
        def scored(min_score, limit):
            counted = Clip.objects.filter(score__gte=min_score).order_by().values("pk")
            return counted if limit is None else counted[:limit]

        build = Counted(lambda min_score, limit: CountOf(scored(min_score, limit)))
        query = CompiledQuery(build, shape=("limit",))
        for min_score in (0.5, 0.65, 0.95):
            expected = scored(min_score, limit).count()
            with django_assert_num_queries(1):
                assert query(min_score=min_score, limit=limit) == expected
        assert build.calls == 2

    def test_a_count_of_nothing_is_djangos(self, clips, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert (
                CompiledQuery(lambda asset: CountOf(Clip.objects.filter(asset=asset).none()))(asset=uuid.uuid4()) == 0
            )


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


def without_format(link: str | None) -> str | None:
    """A page link without the ``format`` parameter (which sends a list through ``filter_queryset``)."""
    if link is None:
        return None
    parts = urlsplit(link)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "format"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def compiled_viewsets() -> set:
    """The viewsets whose list pages ``LIST_ROWS`` has a kept plan for."""
    return {value for key, plan in LIST_ROWS.plans.items() if plan for name, _, value, *_ in key if name == "viewset"}


class TestListRows:
    """A scoped caller's plain page (no query parameter but ``page`` and ``page_size``) is read and counted by SQL
    compiled once per viewset, serializer and role (``gateway.api.viewsets.ListRows``); any other list goes through
    ``filter_queryset(get_queryset())``. Both answer the same."""

    @pytest.fixture(autouse=True)
    def no_kept_plans(self, monkeypatch):
        """Each test starts with no kept plan, so a plan it finds was made by its own requests."""
        monkeypatch.setattr(LIST_ROWS, "plans", {})
        monkeypatch.setattr(LIST_COUNT, "plans", {})

    PAGES = [
        {},
        {"page_size": 3},
        {"page": 2, "page_size": 3},
        {"page": 3, "page_size": 3},
        {"page": "last", "page_size": 2},
    ]

    @staticmethod
    def both_ways(client, resource: str, params: dict):
        """The answer to ``params``, and the answer through ``filter_queryset`` (``format`` sends it there), its
        links without ``format``."""
        compiled = client.get(f"/api/v1/{resource}/", params)
        through_filters = client.get(f"/api/v1/{resource}/", {**params, "format": "json"})
        assert compiled.status_code == through_filters.status_code, compiled.content
        expected = through_filters.json()
        for link in ("next", "previous"):
            if link in expected:
                expected[link] = without_format(expected[link])
        return compiled, expected

    @pytest.mark.parametrize("resource", sorted(LISTS))
    def test_every_page_is_what_filter_queryset_answers(self, resource, other_user):
        user, client = api_caller("user")
        LISTS[resource](other_user, 3)  # rows out of reach (or, for rows every user reads, more rows)
        LISTS[resource](user, 7)
        for params in self.PAGES:
            compiled, expected = self.both_ways(client, resource, params)
            assert compiled.status_code == 200, compiled.content
            assert compiled.json() == expected
            assert compiled.json()["results"]
        past_the_end, expected = self.both_ways(client, resource, {"page": 9, "page_size": 3})
        assert past_the_end.status_code == 404
        assert past_the_end.json()["detail"] == expected["detail"] == "Invalid page."
        viewset = routed_viewsets()[resource]
        read_as_rows = row_plan(viewset(action="list").get_serializer_class()) is not None
        assert (viewset in compiled_viewsets()) is (viewset.owner_scoped and read_as_rows)

    def test_a_users_list_of_themselves_is_what_filter_queryset_answers(self, user_client, other_user):
        compiled, expected = self.both_ways(user_client, "users", {})
        assert compiled.status_code == 200
        assert compiled.json() == expected
        assert compiled.json()["count"] == 1
        assert routed_viewsets()["users"] in compiled_viewsets()

    def test_each_caller_pages_through_only_their_own_rows(self, user, other_user, user_client, other_client):
        mine = {str(ClipFactory(asset=AssetFactory(user=user)).pk) for _ in range(4)}
        theirs = {str(ClipFactory(asset=AssetFactory(user=other_user)).pk) for _ in range(3)}
        for _ in range(2):
            for client, expected in [(user_client, mine), (other_client, theirs)]:
                pages = [client.get("/api/v1/clips/", {"page": page, "page_size": 2}).json() for page in (1, 2)]
                assert {clip["id"] for page in pages for clip in page["results"]} == expected
                assert {page["count"] for page in pages} == {len(expected)}
        assert ClipViewSet in compiled_viewsets()
        counted = [plan for key, plan in LIST_COUNT.plans.items() if ("viewset", True, ClipViewSet) in key]
        assert counted and all(counted)

    def test_a_list_past_the_count_cap_is_estimated_as_through_filter_queryset(self, user_client, user, monkeypatch):
        monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 3)
        ClipFactory.create_batch(5, asset=AssetFactory(user=user))
        for params in ({"page_size": 2}, {"page": 2, "page_size": 2}, {"page": "last", "page_size": 2}):
            compiled, expected = self.both_ways(user_client, "clips", params)
            assert compiled.status_code == 200
            assert compiled.json()["count_is_estimate"] is True
            assert compiled.json() == expected
        last = user_client.get("/api/v1/clips/", {"page": "last", "page_size": 2}).json()
        assert len(last["results"]) == 1 and last["next"] is None  # the last of 5 rows, counted exactly for it
        assert ClipViewSet in compiled_viewsets()

    @pytest.mark.parametrize(
        "prefix",
        ["assets", "campaigns", "clips", "conversions", "experiments", "performance-metrics", "predictions", "users"],
    )
    def test_a_scoped_callers_rows_are_counted_as_a_subset_of_their_table(self, prefix, user):
        """``ListRows.filtered`` (a scoped caller's rows are never estimated from their table's statistics) is what
        ``CountedRows`` finds in the queryset, for every list a USER reads compiled."""
        viewset = routed_viewsets()[prefix]
        view = viewset(action="list", detail=False)
        serializer_class = view.get_serializer_class()
        assert view.is_scoped(user)
        assert row_plan(serializer_class) is not None
        assert CountedRows(list_rows(viewset=viewset, serializer_class=serializer_class, user=user)).filtered
