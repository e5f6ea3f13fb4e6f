"""The fast paths give exactly what DRF gives: representation, item validation and JSON rendering.

Each test runs DRF's own code and the fast path on the same input and compares the results (values, their
types and key order; or the errors).
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy
from psycopg.pq import Format
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from campaigns.api.serializers import (
    CampaignDetailSerializer,
    CampaignSerializer,
    ConversionIngestItemSerializer,
    ConversionSerializer,
    ExperimentSerializer,
)
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion, Experiment
from gateway.api import representation
from gateway.api.renderers import ORJSONRenderer
from gateway.api.representation import NestedRowsSerializer
from gateway.api.serializers import ModelSerializer
from gateway.api.validation import FastItemValidator, JSONValueField
from gateway.db.postgresql.base import TimestamptzLoader
from media.api.serializers import (
    AssetDetailSerializer,
    AssetSerializer,
    ClipDetailSerializer,
    ClipSerializer,
    ClipWithAssetSerializer,
    PerformanceMetricSerializer,
    PredictionSerializer,
)
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import Clip, Prediction
from users.api.serializers import UserSummarySerializer

pytestmark = pytest.mark.django_db


def drf_representation(serializer_class, instances):
    """What DRF's own ``Serializer.to_representation`` gives, nested serializers included."""
    fast = representation.FastRepresentationMixin.to_representation
    representation.FastRepresentationMixin.to_representation = serializers.Serializer.to_representation
    try:
        return serializer_class(instances, many=True).data
    finally:
        representation.FastRepresentationMixin.to_representation = fast


def assert_identical(mine, theirs):
    """Equal values of the same types, dict keys in the same order, all the way down."""
    assert type(mine) is type(theirs), (mine, theirs)
    if isinstance(theirs, dict):
        assert list(mine) == list(theirs)
        for key in theirs:
            assert_identical(mine[key], theirs[key])
    elif isinstance(theirs, list):
        assert len(mine) == len(theirs)
        for one, other in zip(mine, theirs, strict=True):
            assert_identical(one, other)
    else:
        assert mine == theirs


@pytest.fixture
def rows():
    asset = AssetFactory(duration=None, codec=None, thumbnail_url=None, metadata={"k": [1, "é", None]})
    AssetFactory(original_name="ünïcode\u2028name.mp4", bitrate=None, fps=None)
    clips = [ClipFactory(asset=asset), ClipFactory(asset=asset, score=None, rank=None, face_count=None)]
    PredictionFactory(clip=clips[0], confidence=None)
    PredictionFactory(clip=clips[0], actual_roas=1.5, prediction_error=0.25)
    PerformanceMetricFactory(asset=asset, ctr=None)
    campaign = CampaignFactory(description=None, daily_budget=None, meta_campaign_id=None, total_spend=Decimal("12.30"))
    ExperimentFactory(campaign=campaign, winner_variant_id=None)
    ConversionFactory(campaign=campaign, value=Decimal("0.05"), attributed_clip=clips[0], external_id=None)
    ConversionFactory(campaign=None, currency="EUR", metadata={"nested": {"deep": [1.5, True]}})
    return asset


CASES = [
    (AssetSerializer, "media.Asset", ()),
    (AssetDetailSerializer, "media.Asset", ("user",)),
    (ClipSerializer, "media.Clip", ()),
    (ClipWithAssetSerializer, "media.Clip", ("asset",)),
    (ClipDetailSerializer, "media.Clip", ("asset",)),
    (PredictionSerializer, "media.Prediction", ()),
    (PerformanceMetricSerializer, "media.PerformanceMetric", ()),
    (CampaignSerializer, "campaigns.Campaign", ()),
    (CampaignDetailSerializer, "campaigns.Campaign", ("user",)),
    (ExperimentSerializer, "campaigns.Experiment", ()),
    (ConversionSerializer, "campaigns.Conversion", ()),
    (UserSummarySerializer, "users.User", ()),
]


@pytest.mark.parametrize(("serializer_class", "label", "related"), CASES, ids=[case[0].__name__ for case in CASES])
def test_fast_representation_is_drfs(rows, serializer_class, label, related):
    from django.apps import apps

    instances = list(apps.get_model(label)._default_manager.select_related(*related).order_by("pk"))
    assert instances
    reference = drf_representation(serializer_class, instances)
    assert_identical(serializer_class(instances, many=True).data, reference)
    # A second time, from the plan kept for the class.
    assert_identical(serializer_class(instances, many=True).data, reference)


def test_fast_representation_plans_every_plain_column_without_the_bound_fields(rows):
    assert ConversionSerializer(list(Conversion.objects.all()), many=True).data
    plan = representation._plans[ConversionSerializer]
    assert all(kind is representation.FAST for kind, *_ in plan)


CAMPAIGN = "3f2a1c5e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"
CLIP = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
VALID = {
    "campaign": CAMPAIGN,
    "source": "GOOGLE",
    "external_id": "gads_conv_1",
    "value": "49.90",
    "currency": "USD",
    "attributed_clip": CLIP,
    "attributed_ad_id": "ad_1",
    "timestamp": "2026-03-01T12:30:00Z",
    "metadata": {"conversionType": "purchase"},
}
VARIANTS = [
    {},
    {"campaign": None},
    {"campaign": CAMPAIGN.upper()},
    {"campaign": CAMPAIGN.replace("-", "")},
    {"campaign": "{" + CAMPAIGN + "}"},
    {"campaign": "not-a-uuid-at-all-but-36-characters!"},
    {"campaign": 12},
    {"source": "google"},
    {"source": "NOPE"},
    {"source": None},
    {"source": ""},
    {"external_id": None},
    {"external_id": ""},
    {"external_id": "  padded  "},
    {"external_id": "x" * 255},
    {"external_id": "x" * 256},
    {"external_id": "nul\x00"},
    {"external_id": "ünïcode"},
    {"external_id": 1234},
    {"external_id": 12.5},
    {"external_id": True},
    {"value": "0"},
    {"value": "0.5"},
    {"value": "12345678.99"},
    {"value": "123456789.99"},
    {"value": "1.234"},
    {"value": "-1.00"},
    {"value": " 5.00 "},
    {"value": "1e3"},
    {"value": "NaN"},
    {"value": 7},
    {"value": -7},
    {"value": 7.25},
    {"value": True},
    {"value": None},
    {"value": "007.50"},
    {"currency": "usd"},
    {"currency": "USDX"},
    {"currency": " EUR"},
    {"currency": None},
    {"attributed_clip": None},
    {"attributed_ad_id": ""},
    {"attributed_ad_id": None},
    {"attributed_ad_id": " ad "},
    {"timestamp": "2026-03-01T12:30:00+02:00"},
    {"timestamp": "2026-03-01T12:30:00.123456-05:30"},
    {"timestamp": "2026-03-01T12:30:00"},
    {"timestamp": "2026-03-01 12:30"},
    {"timestamp": "2026-03-01"},
    {"timestamp": "yesterday"},
    {"timestamp": None},
    {"timestamp": 1700000000},
    {"metadata": []},
    {"metadata": None},
    {"metadata": "text"},
    {"metadata": {"a": {"b": [1, 2.5, None]}}},
    {"unknown": "ignored"},
]


def outcome(validate, item):
    try:
        return "ok", validate(item)
    except serializers.ValidationError as error:
        return "error", error.detail


@pytest.mark.parametrize("change", VARIANTS, ids=[repr(variant)[:60] for variant in VARIANTS])
@pytest.mark.parametrize("drop", [None, "campaign", "value", "timestamp", "metadata", "currency"])
def test_fast_item_validation_is_drfs(change, drop):
    item = {**VALID, **change}
    if drop and drop not in change:
        item.pop(drop)
    serializer = ConversionIngestItemSerializer(context={})
    fast = FastItemValidator(ConversionIngestItemSerializer(context={}), json_checked=True)
    assert fast.checks is not None
    expected = outcome(serializer.run_validation, item)
    actual = outcome(fast.run_validation, item)
    assert actual[0] == expected[0]
    assert actual[1] == expected[1]
    if expected[0] == "ok":
        assert list(actual[1]) == list(expected[1])
        assert [type(value) for value in actual[1].values()] == [type(value) for value in expected[1].values()]


def test_fast_item_validation_steps_aside_for_serializers_it_cannot_follow():
    class WithMethod(ConversionIngestItemSerializer):
        def validate_currency(self, value):
            return value.lower()

    fast = FastItemValidator(WithMethod(context={}))
    assert fast.checks is None
    assert fast.run_validation(dict(VALID))["currency"] == "usd"


@pytest.mark.parametrize("value", [{"a": 1}, [1, "x"], 2**70, {1: "int key"}, "text", None, 1.5])
def test_json_value_field_accepts_what_json_field_accepts(value):
    assert outcome(JSONValueField(allow_null=True).run_validation, value) == outcome(
        serializers.JSONField(allow_null=True).run_validation, value
    )


def test_orjson_renderer_gives_drfs_json():
    data = {
        "text": 'ünïcode \u2028 \u2029 "quoted" \\ \n\t\x01',
        "lazy": gettext_lazy("Not found."),
        "decimal": Decimal("12.30"),
        "uuid": uuid.UUID(CAMPAIGN),
        "when": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "naive": datetime(2026, 1, 2, 3, 4, 5),
        "day": datetime(2026, 1, 2).date(),
        "duration": timedelta(seconds=90),
        "numbers": [1, -2, 0, True, False, None, 2**63 - 1],
        "nested": {"list": [{"a": []}, {}], 3: "int key"},
    }
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)
    beyond_64_bits = {**data, "big": 2**80}
    assert ORJSONRenderer().render(beyond_64_bits) == JSONRenderer().render(beyond_64_bits)
    indented = {"accepted_media_type": "application/json; indent=2"}
    assert ORJSONRenderer().render(data, **indented) == JSONRenderer().render(data, **indented)


def test_nested_rows_are_what_drf_gives_for_the_same_rows_as_instances(rows):
    """An asset's clips in its detail are read with values(); DRF's own representation of the same clips,
    read as model instances, is the reference (values, types, key order)."""
    clips = Clip.objects.of_asset(rows)
    assert clips.count() == 2
    field = AssetDetailSerializer().fields["clips"]
    assert_identical(
        field.to_representation(field.get_attribute(rows)), list(drf_representation(ClipSerializer, clips))
    )


def test_a_clips_predictions_are_what_drf_gives_for_the_same_rows_as_instances(rows):
    """A clip's predictions in its detail are read with values(), newest first; the reference is DRF's
    representation of the same predictions as model instances."""
    clip = rows.clips.get(predictions__isnull=False, predictions__confidence__isnull=True)
    predictions = Prediction.objects.filter(clip=clip).order_by("-created_at", "id")
    assert predictions.count() == 2
    field = ClipDetailSerializer().fields["predictions"]
    assert isinstance(field, NestedRowsSerializer)
    assert_identical(
        field.to_representation(field.get_attribute(clip)), list(drf_representation(PredictionSerializer, predictions))
    )


def test_a_campaigns_experiments_are_what_drf_gives_for_the_same_rows_as_instances(rows):
    """A campaign's live experiments in its detail are read with values(), oldest first; the reference is DRF's
    representation of the same experiments as model instances."""
    campaign = Campaign.objects.get(experiments__isnull=False)
    ExperimentFactory(campaign=campaign)
    ExperimentFactory(campaign=campaign).soft_delete()
    experiments = Experiment.objects.filter(campaign=campaign).order_by("created_at", "id")
    assert experiments.count() == 2
    field = CampaignDetailSerializer().fields["experiments"]
    assert isinstance(field, NestedRowsSerializer)
    assert_identical(
        field.to_representation(field.get_attribute(campaign)),
        list(drf_representation(ExperimentSerializer, experiments)),
    )


def test_nested_rows_are_read_by_sql_compiled_once_for_every_instance(rows, django_assert_num_queries):
    field = AssetDetailSerializer().fields["clips"]
    other = AssetFactory()
    ClipFactory(asset=other)
    for asset in (rows, other, rows):
        with django_assert_num_queries(1):
            shown = field.to_representation(field.get_attribute(asset))
        assert_identical(shown, list(drf_representation(ClipSerializer, Clip.objects.of_asset(asset))))
    (plan,) = representation.compiled_rows(ClipSerializer, field.rows).plans.values()
    assert plan is not None  # kept: the rows were not read through a queryset built for each asset


def test_nested_rows_of_a_serializer_with_computed_fields_are_model_instances(rows):
    """A child that is not all plain columns cannot be read from values(): the instances are used as usual."""
    field = NestedRowsSerializer(child=ClipDetailSerializer(), rows=lambda pk: Clip.objects.of_asset(pk))
    assert representation.row_plan(ClipDetailSerializer) is None
    assert_identical(
        field.to_representation(field.get_attribute(rows)),
        list(drf_representation(ClipDetailSerializer, Clip.objects.of_asset(rows).select_related("asset"))),
    )


def test_nested_rows_show_datetimes_in_the_current_time_zone(rows):
    """The rows bind the current time zone once for the list: the one active while they are represented."""
    field = AssetDetailSerializer().fields["clips"]
    with timezone.override("Asia/Kolkata"):
        shown = field.to_representation(field.get_attribute(rows))
        assert_identical(shown, list(drf_representation(ClipSerializer, Clip.objects.of_asset(rows))))
    assert shown[0]["created_at"].endswith("+05:30")


class ConversionWithClipSerializer(ModelSerializer):
    """A nullable foreign key's row joined in: a conversion may have no attributed clip."""

    attributed_clip = ClipSerializer(read_only=True)

    class Meta:
        model = Conversion
        fields = ["id", "attributed_clip", "value", "created_at"]


class ClipOfClipWithAssetSerializer(ModelSerializer):
    """Two joins deep (a conversion's clip with that clip's asset): not read as rows."""

    attributed_clip = ClipWithAssetSerializer(read_only=True)

    class Meta:
        model = Conversion
        fields = ["id", "attributed_clip"]


@pytest.mark.parametrize(
    ("serializer_class", "queryset"),
    [
        (ClipSerializer, lambda: Clip.objects.order_by("pk")),
        (ClipWithAssetSerializer, lambda: Clip.objects.order_by("pk")),
        (ConversionWithClipSerializer, lambda: Conversion.objects.order_by("pk")),
    ],
    ids=["columns", "a joined row", "a joined row or none"],
)
def test_rows_are_what_drf_gives_for_the_same_rows_as_instances(rows, serializer_class, queryset):
    """``represent_queryset`` reads rows with values(), the joined row's columns included, in one query; DRF's own
    representation of the same rows as model instances is the reference (values, types, key order)."""
    instances = list(
        queryset().select_related(
            *{"media.Clip": ["asset"], "campaigns.Conversion": ["attributed_clip"]}[
                serializer_class.Meta.model._meta.label
            ]
        )
    )
    assert representation.row_plan(serializer_class) is not None
    with CaptureQueriesContext(connection) as queries:
        shown = representation.represent_queryset(serializer_class, queryset())
    assert len(queries) == 1
    assert_identical(shown, list(drf_representation(serializer_class, instances)))
    if serializer_class is ConversionWithClipSerializer:
        assert {conversion["attributed_clip"] is None for conversion in shown} == {True, False}


LISTS = [
    ("/api/v1/assets/", AssetSerializer, "media.Asset"),
    ("/api/v1/clips/?ordering=-score", ClipSerializer, "media.Clip"),
    ("/api/v1/predictions/?cursor=", PredictionSerializer, "media.Prediction"),
    ("/api/v1/performance-metrics/", PerformanceMetricSerializer, "media.PerformanceMetric"),
    ("/api/v1/campaigns/", CampaignSerializer, "campaigns.Campaign"),
    ("/api/v1/experiments/", ExperimentSerializer, "campaigns.Experiment"),
    ("/api/v1/conversions/?cursor=", ConversionSerializer, "campaigns.Conversion"),
]


@pytest.mark.parametrize(("url", "serializer_class", "label"), LISTS, ids=[url for url, *_ in LISTS])
def test_list_pages_read_as_rows_are_what_drf_gives_for_the_same_rows_as_instances(
    rows, admin_client_api, url, serializer_class, label
):
    """A list page is read with values() (``ScopedModelViewSet.list``); DRF's representation of the same rows as
    model instances, in the page's order, is the reference. A cursor page reads its position off its last row."""
    from django.apps import apps

    assert representation.row_plan(serializer_class) is not None
    model = apps.get_model(label)
    cursor = "cursor=" in url
    answer = admin_client_api.get(url, {"page_size": 1 if cursor else 50})
    assert answer.status_code == 200, answer.content
    shown = answer.json()["results"]
    if cursor:
        following = admin_client_api.get(answer.json()["next"])
        assert following.status_code == 200, following.content
        shown += following.json()["results"]
    assert len(shown) == (2 if cursor else model._default_manager.count())
    instances = model._default_manager.in_bulk([row["id"] for row in shown])
    reference = drf_representation(serializer_class, [instances[uuid.UUID(row["id"])] for row in shown])
    assert_identical(shown, json.loads(json.dumps(list(reference))))


def test_a_serializer_that_represents_in_its_own_way_is_not_read_as_rows(rows):
    """Its own ``to_representation`` (or a list serializer of its own) must see its instances."""

    class Marked(ClipSerializer):
        def to_representation(self, instance):
            return {**super().to_representation(instance), "marked": True}

    class OwnList(ClipSerializer):
        class Meta(ClipSerializer.Meta):
            list_serializer_class = serializers.ListSerializer

    assert representation.row_plan(ClipSerializer) is not None
    assert representation.row_plan(Marked) is None
    assert representation.row_plan(OwnList) is None
    shown = representation.represent_queryset(Marked, Clip.objects.order_by("pk"))
    assert [clip["marked"] for clip in shown] == [True, True]


def test_rows_joined_two_deep_are_model_instances(rows):
    """A nested row's own nested row is not read from values(): the serializer represents instances as usual."""
    assert representation.row_plan(ClipOfClipWithAssetSerializer) is None
    shown = representation.represent_queryset(ClipOfClipWithAssetSerializer, Conversion.objects.order_by("pk"))
    assert_identical(shown, drf_representation(ClipOfClipWithAssetSerializer, list(Conversion.objects.order_by("pk"))))


def test_joined_rows_show_datetimes_in_the_current_time_zone(rows):
    with timezone.override("Asia/Kolkata"):
        shown = representation.represent_queryset(ClipWithAssetSerializer, Clip.objects.order_by("pk"))
        reference = drf_representation(
            ClipWithAssetSerializer, list(Clip.objects.select_related("asset").order_by("pk"))
        )
    assert_identical(shown, list(reference))
    assert shown[0]["created_at"].endswith("+05:30")


@pytest.mark.parametrize(
    ("serializer_class", "label", "related"), CASES[1:5], ids=[case[0].__name__ for case in CASES[1:5]]
)
def test_fast_representation_shows_datetimes_in_the_current_time_zone(rows, serializer_class, label, related):
    """The zone is looked up once per row, nested rows included: the one active while the rows are represented."""
    from django.apps import apps

    instances = list(apps.get_model(label)._default_manager.select_related(*related).order_by("pk"))
    with timezone.override("America/St_Johns"):
        shown = serializer_class(instances, many=True).data
        assert_identical(shown, drf_representation(serializer_class, instances))
    assert shown[0]["created_at"].endswith(("-03:30", "-02:30"))
    assert representation._zone.get() is None  # nothing pinned once the rows are represented


TIMESTAMPS = [
    "2026-12-02 15:35:07.851234+00",
    "2026-12-02 15:35:07.85+00",
    "2026-12-02 15:35:07+00",
    "2026-06-01 12:00:00.5+05:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


class TestTimestamptzLoader:
    """The backend reads timestamptz with ``fromisoformat``: what Django's own loader reads, or refuses."""

    @staticmethod
    def read_both(literal: str, *session: str):
        """``literal::timestamptz`` read through the project's loader and through Django's, after ``session``'s
        statements; each an aware datetime with its tzinfo, or the psycopg error class it raised."""

        def read(cursor):
            try:
                cursor.execute("SELECT %s::timestamptz", [literal])
                value = cursor.fetchone()[0]
                return value, value.tzinfo
            except (psycopg.DataError, NotImplementedError) as error:
                return type(error)

        with transaction.atomic():
            for statement in session:
                connection.cursor().execute(statement)
            ours, djangos = connection.connection.cursor(), connection.connection.cursor()
            register_tzloader(connection.timezone, djangos)  # Django's loader, on this cursor only
            return [read(ours), read(djangos)]

    def test_is_the_connections_loader(self):
        connection.ensure_connection()
        loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        assert issubclass(loader, TimestamptzLoader)
        assert loader.timezone is connection.timezone

    @pytest.mark.parametrize("literal", TIMESTAMPS)
    def test_reads_what_djangos_loader_reads(self, literal):
        mine, djangos = self.read_both(literal)
        assert mine == djangos
        assert mine[1] is connection.timezone

    @pytest.mark.parametrize("literal", TIMESTAMPS[:4])
    @pytest.mark.parametrize(
        "session",
        [("SET LOCAL TIME ZONE 'Asia/Kolkata'",), ("SET LOCAL DateStyle = 'SQL, DMY'",)],
        ids=["another zone", "another DateStyle (refused by both)"],
    )
    def test_reads_what_djangos_loader_reads_in_another_session_setting(self, literal, session):
        mine, djangos = self.read_both(literal, *session)
        assert mine == djangos

    @pytest.mark.parametrize("literal", ["infinity", "-infinity", "10000-01-01 00:00:00+00", "0044-03-15 BC"])
    def test_refuses_what_djangos_loader_refuses(self, literal):
        mine, djangos = self.read_both(literal)
        assert mine is djangos is psycopg.DataError


# A value of each kind a filter takes, and some none takes: each filter gets every one of them.
FILTER_VALUES = ["x", "1", "0.5", "true", "READY", "2026-01-01T00:00:00Z", "not a date", "-score", "a,b"]


def filterset_answer(viewset, params: dict, user):
    """What the whole FilterSet of ``viewset`` (every filter's form field validated and applied, as
    django-filter's own backend does) makes of ``params`` on ``user``'s list: ``(200, ids)`` or ``(400, errors)``."""
    from django.http import QueryDict
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from gateway.api.pagination import with_unique_ordering

    view = viewset(action="list", detail=False, format_kwarg=None)
    request = Request(APIRequestFactory().get("/"))
    request.user = user
    view.request = request
    data = QueryDict(mutable=True)
    data.update(params)
    filterset = viewset.filterset_class(data=data, queryset=view.get_queryset(), request=request)
    if not filterset.is_valid():
        return 400, {name: list(messages) for name, messages in filterset.errors.items()}
    return 200, [str(pk) for pk in with_unique_ordering(filterset.qs).values_list("pk", flat=True)]


@pytest.mark.parametrize("resource", ["assets", "clips", "predictions", "campaigns", "conversions", "api-keys"])
def test_only_the_named_filters_give_what_the_whole_filterset_gives(resource, admin_user):
    """``FilterBackend`` validates and applies only the filters the query names; for every filter of the view's
    FilterSet and values of every kind, the rows (in order) or the 400's errors are those of the whole FilterSet."""
    from gateway.tests.api_helpers import client_for
    from gateway.tests.test_query_counts import LISTS, routed_viewsets

    viewset = routed_viewsets()[resource]
    LISTS[resource](admin_user, 3)
    client = client_for(admin_user)
    names = list(viewset.filterset_class.base_filters)
    assert len(names) > 2
    for name in names:
        for value in FILTER_VALUES:
            params = {name: value, "page_size": 100}
            answer = client.get(f"/api/v1/{resource}/", params)
            status, expected = filterset_answer(viewset, {name: value}, admin_user)
            assert answer.status_code == status, (name, value, answer.content)
            if status == 200:
                assert [row["id"] for row in answer.json()["results"]] == expected, (name, value)
            else:
                errors = {key: messages for key, messages in answer.json().items() if key != "request_id"}
                assert errors == expected, (name, value)
