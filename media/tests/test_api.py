"""The media endpoints: assets, clips, predictions, performance metrics and their operations.

The CRUD, scoping and soft-delete tests every resource shares come from ``gateway/tests/resource_cases.py``;
what follows each resource's declaration is what only that resource does.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gateway.tests.api_helpers import error_body, ids, refusal
from gateway.tests.resource_cases import ChildResourceCases, OwnedSoftResourceCases, SoftChildResourceCases, names_in
from media.choices import AssetStatus, ClipStatus
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import Asset, Clip, PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db

ASSETS = "/api/v1/assets/"
CLIPS = "/api/v1/clips/"
PREDICTIONS = "/api/v1/predictions/"
METRICS = "/api/v1/performance-metrics/"
TOP = "/api/v1/clips/top/"


def url(base, obj, action=None):
    return f"{base}{obj.pk}/" + (f"{action}/" if action else "")


def asset_payload(**overrides):
    return {
        "filename": "launch.mp4",
        "original_name": "Launch film.mp4",
        "mime_type": "video/mp4",
        "file_size": 12_345_678,
        "gcs_url": "gs://geminivideo-test/assets/launch.mp4",
        "gcs_bucket": "geminivideo-test",
        "gcs_path": "assets/launch.mp4",
        "duration": 42.5,
        "width": 1920,
        "height": 1080,
        "fps": 30,
        "bitrate": 5_000_000,
        "codec": "h264",
        "metadata": {"camera": "A"},
        **overrides,
    }


class TestAssets(OwnedSoftResourceCases):
    url = ASSETS
    model = Asset
    factory = AssetFactory
    owner = "user"
    payload = staticmethod(asset_payload)
    update_changes = {"original_name": "Renamed.mp4", "codec": "vp9"}
    created = {"status": AssetStatus.PENDING}
    partial_payload = {"thumbnail_url": "gs://b/t.jpg"}
    scoped_actions = [("status", {"status": "FAILED"})]
    invalid_values = [
        ("file_size", -1),
        ("duration", -0.5),
        ("width", 0),
        ("height", 0),
        ("fps", 0),
        ("bitrate", -1),
        ("status", "LOST"),
        ("metadata", [1, 2]),
        ("filename", ""),
        ("gcs_url", None),
    ]
    required_fields = ["filename", "original_name", "mime_type", "file_size", "gcs_bucket", "gcs_path"]
    detail_max_queries = 4

    def embed(self, row, count):
        ClipFactory.create_batch(count, asset=row)

    def assert_embedded(self, data, count):
        assert len(data["clips"]) == count

    def test_retrieve_embeds_user_summary_and_live_clips(self, user, user_client):
        asset = AssetFactory(user=user)
        late = ClipFactory(asset=asset, start_time=30, end_time=40)
        early = ClipFactory(asset=asset, start_time=0, end_time=10)
        ClipFactory(asset=asset).soft_delete()
        data = user_client.get(self.detail(asset)).json()
        assert data["user"] == str(user.pk)
        assert data["user_summary"] == {"id": str(user.pk), "email": user.email, "name": user.name}
        assert [clip["id"] for clip in data["clips"]] == [str(early.pk), str(late.pk)]
        assert data["clips"][0]["duration"] == 10

    def test_partial_update_of_status_follows_the_transitions(self, user, user_client):
        asset = AssetFactory(user=user, status=AssetStatus.READY)
        response = user_client.patch(self.detail(asset), {"status": "ARCHIVED"})
        assert response.status_code == 200
        assert response.json()["status"] == "ARCHIVED"

    def test_disallowed_status_in_an_update_writes_nothing(self, user, user_client):
        asset = AssetFactory(user=user, status=AssetStatus.ARCHIVED, codec="h264")
        response = user_client.patch(self.detail(asset), {"status": "PROCESSING", "codec": "vp9"})
        assert response.status_code == 400
        assert "status" in response.json()
        asset.refresh_from_db()
        assert (asset.status, asset.codec) == (AssetStatus.ARCHIVED, "h264")

    def test_delete_hides_the_clips(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user))
        assert user_client.delete(self.detail(clip.asset)).status_code == 204
        assert Clip.all_objects.get(pk=clip.pk).deleted_at is not None
        assert user_client.get(url(CLIPS, clip)).status_code == 404

    def test_hard_delete_removes_the_clips(self, admin_client_api):
        asset = AssetFactory()
        ClipFactory(asset=asset)
        assert admin_client_api.delete(self.detail(asset) + "?hard=true").status_code == 204
        assert not Clip.all_objects.exists()

    def test_restore_brings_back_the_clips(self, admin_client_api):
        clip = ClipFactory()
        clip.asset.soft_delete()
        assert admin_client_api.post(self.detail(clip.asset, "restore")).status_code == 200
        assert Clip.objects.filter(pk=clip.pk).exists()

    @pytest.mark.parametrize("holder_deleted", [False, True], ids=["live holder", "soft-deleted holder"])
    def test_a_gcs_url_another_asset_holds_is_400_even_once_it_is_deleted(self, user_client, holder_deleted):
        holder = AssetFactory(gcs_url="gs://geminivideo-test/assets/launch.mp4")
        if holder_deleted:
            holder.soft_delete()
        errors = refusal(user_client.post(ASSETS, asset_payload()))
        assert errors == {"gcs_url": ["An asset with this gcs_url already exists."]}

    def test_updating_an_asset_keeps_its_own_gcs_url(self, user, user_client):
        asset = AssetFactory(user=user, gcs_url="gs://geminivideo-test/assets/launch.mp4")
        assert user_client.put(self.detail(asset), asset_payload()).status_code == 200


class TestAssetFilters:
    def test_user(self, admin_client_api, user):
        mine = AssetFactory(user=user)
        AssetFactory()
        assert ids(admin_client_api.get(ASSETS, {"user": str(user.pk)})) == {str(mine.pk)}

    def test_user_in(self, admin_client_api, user, other_user):
        first, second = AssetFactory(user=user), AssetFactory(user=other_user)
        AssetFactory()
        response = admin_client_api.get(ASSETS, {"user__in": f"{user.pk},{other_user.pk}"})
        assert ids(response) == {str(first.pk), str(second.pk)}

    def test_status(self, user, user_client):
        failed = AssetFactory(user=user, status=AssetStatus.FAILED)
        AssetFactory(user=user, status=AssetStatus.READY)
        assert ids(user_client.get(ASSETS, {"status": "FAILED"})) == {str(failed.pk)}

    def test_status_in(self, user, user_client):
        failed = AssetFactory(user=user, status=AssetStatus.FAILED)
        pending = AssetFactory(user=user, status=AssetStatus.PENDING)
        AssetFactory(user=user, status=AssetStatus.READY)
        assert ids(user_client.get(ASSETS, {"status__in": "FAILED,PENDING"})) == {str(failed.pk), str(pending.pk)}

    def test_status_in_rejects_unknown_values(self, user_client):
        assert user_client.get(ASSETS, {"status__in": "FAILED,LOST"}).status_code == 400

    def test_gcs_url(self, user, user_client):
        asset = AssetFactory(user=user, gcs_url="gs://b/one.mp4")
        AssetFactory(user=user)
        assert ids(user_client.get(ASSETS, {"gcs_url": "gs://b/one.mp4"})) == {str(asset.pk)}

    def test_search_matches_names(self, user, user_client):
        asset = AssetFactory(user=user, original_name="Summer promo.mp4")
        AssetFactory(user=user, original_name="Winter.mp4")
        assert ids(user_client.get(ASSETS, {"search": "summer"})) == {str(asset.pk)}

    def test_ordering(self, user, user_client):
        small = AssetFactory(user=user, file_size=1)
        big = AssetFactory(user=user, file_size=100)
        rows = user_client.get(ASSETS, {"ordering": "-file_size"}).json()["results"]
        assert [row["id"] for row in rows] == [str(big.pk), str(small.pk)]
        rows = user_client.get(ASSETS, {"ordering": "file_size"}).json()["results"]
        assert [row["id"] for row in rows] == [str(small.pk), str(big.pk)]

    def test_default_ordering_is_newest_first(self, user, user_client):
        first = AssetFactory(user=user)
        second = AssetFactory(user=user)
        rows = user_client.get(ASSETS).json()["results"]
        assert [row["id"] for row in rows] == [str(second.pk), str(first.pk)]


class TestAssetStatusAction:
    def test_changes_status(self, user, user_client):
        asset = AssetFactory(user=user, status=AssetStatus.PENDING)
        response = user_client.post(url(ASSETS, asset, "status"), {"status": "PROCESSING"})
        assert response.status_code == 200
        assert response.json()["status"] == "PROCESSING"
        assert Asset.objects.get(pk=asset.pk).status == AssetStatus.PROCESSING

    def test_records_the_processing_error(self, user, user_client):
        asset = AssetFactory(user=user, status=AssetStatus.PROCESSING)
        response = user_client.post(
            url(ASSETS, asset, "status"), {"status": "FAILED", "processing_error": "codec not supported"}
        )
        assert response.status_code == 200
        assert response.json()["processing_error"] == "codec not supported"

    def test_leaving_failed_clears_the_error(self, user, user_client):
        asset = AssetFactory(user=user, status=AssetStatus.FAILED, processing_error="boom")
        response = user_client.post(url(ASSETS, asset, "status"), {"status": "PROCESSING"})
        assert response.json()["processing_error"] is None

    def test_disallowed_transition_is_400_naming_the_allowed_ones(self, user, user_client):
        asset = AssetFactory(user=user, status=AssetStatus.ARCHIVED)
        response = user_client.post(url(ASSETS, asset, "status"), {"status": "PROCESSING"})
        assert response.status_code == 400
        assert error_body(response) == {
            "status": ["Cannot change status from ARCHIVED to PROCESSING. Allowed from ARCHIVED: READY."]
        }
        assert Asset.objects.get(pk=asset.pk).status == AssetStatus.ARCHIVED

    def test_unknown_status_is_400(self, user, user_client):
        asset = AssetFactory(user=user)
        response = user_client.post(url(ASSETS, asset, "status"), {"status": "LOST"})
        assert response.status_code == 400
        assert "status" in response.json()

    def test_missing_status_is_400(self, user, user_client):
        asset = AssetFactory(user=user)
        assert "status" in user_client.post(url(ASSETS, asset, "status"), {}).json()


def clip_payload(asset, **overrides):
    return {"asset": str(asset.pk), "start_time": 5, "end_time": 20, "features": {"scene": "beach"}, **overrides}


class TestClips(SoftChildResourceCases):
    url = CLIPS
    model = Clip
    factory = ClipFactory
    owner = "asset__user"
    parent = "asset"
    parent_factory = AssetFactory
    payload = staticmethod(clip_payload)
    update_changes = {"start_time": 2, "end_time": 4}
    created = {"status": ClipStatus.PENDING, "duration": 15}
    partial_payload = {"has_music": True}
    scoped_actions = [("scores", {"score": 0.5})]
    invalid_values = [
        ("start_time", -1),
        ("face_count", -1),
        ("rank", 0),
        ("score", 1.5),
        ("viral_score", -0.1),
        ("engagement_score", 2),
        ("brand_safety_score", -1),
        ("status", "LOST"),
        ("features", "not an object"),
    ]
    detail_max_queries = 4

    def embed(self, row, count):
        PredictionFactory.create_batch(count, clip=row)

    def assert_embedded(self, data, count):
        assert len(data["predictions"]) == count

    def test_retrieve_embeds_asset_and_predictions(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user))
        prediction = PredictionFactory(clip=clip)
        data = user_client.get(self.detail(clip)).json()
        assert data["asset"] == str(clip.asset_id)
        assert data["asset_summary"]["id"] == str(clip.asset_id)
        assert data["asset_summary"]["gcs_url"] == clip.asset.gcs_url
        assert [row["id"] for row in data["predictions"]] == [str(prediction.pk)]

    def test_create_computes_the_duration(self, user, user_client):
        response = user_client.post(CLIPS, clip_payload(AssetFactory(user=user), duration=99))
        assert response.status_code == 201
        assert response.json()["duration"] == 15
        assert Clip.objects.get(pk=response.json()["id"]).duration == 15

    def test_create_reads_the_duration_back_with_its_insert(self, user, user_client):
        asset = AssetFactory(user=user)
        with CaptureQueriesContext(connection) as captured:
            response = user_client.post(CLIPS, clip_payload(asset))
        on_clips = [query["sql"] for query in captured.captured_queries if '"clips"' in query["sql"]]
        assert response.json()["duration"] == 15
        assert len(on_clips) == 1 and 'RETURNING "clips"."duration"' in on_clips[0]

    def test_update_recomputes_the_duration(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), start_time=0, end_time=10)
        response = user_client.put(self.detail(clip), clip_payload(clip.asset, start_time=2, end_time=4))
        assert response.json()["duration"] == 2

    def test_partial_update_recomputes_the_duration(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), start_time=0, end_time=10)
        response = user_client.patch(self.detail(clip), {"end_time": 12})
        assert response.json()["duration"] == 12
        assert Clip.objects.get(pk=clip.pk).duration == 12

    def test_asset_cannot_be_changed_after_creation(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user))
        other_asset = AssetFactory(user=user)
        user_client.patch(self.detail(clip), {"asset": str(other_asset.pk)})
        assert Clip.objects.get(pk=clip.pk).asset_id == clip.asset_id

    def test_status_change_in_an_update_follows_the_transitions(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), status=ClipStatus.PUBLISHED)
        response = user_client.patch(self.detail(clip), {"status": "PENDING"})
        assert response.status_code == 400
        assert "status" in response.json()
        assert user_client.patch(self.detail(clip), {"status": "REJECTED"}).json()["status"] == "REJECTED"

    @pytest.mark.parametrize("end_time", [5, 4])
    def test_end_time_must_be_after_start_time(self, user, user_client, end_time):
        response = user_client.post(CLIPS, clip_payload(AssetFactory(user=user), start_time=5, end_time=end_time))
        assert response.status_code == 400
        assert error_body(response) == {"end_time": ["Must be after start_time."]}

    def test_partial_update_checks_times_against_the_stored_ones(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), start_time=10, end_time=20)
        response = user_client.patch(self.detail(clip), {"end_time": 5})
        assert response.status_code == 400
        assert "end_time" in response.json()


class TestClipFilters:
    @pytest.fixture
    def clips(self, user):
        asset, other_asset = AssetFactory(user=user), AssetFactory(user=user)
        return {
            "low": ClipFactory(asset=asset, score=0.2, rank=3, status=ClipStatus.SCORED),
            "mid": ClipFactory(asset=asset, score=0.5, rank=2, status=ClipStatus.PUBLISHED),
            "high": ClipFactory(asset=other_asset, score=0.9, rank=1, status=ClipStatus.REJECTED),
        }

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"status": "PUBLISHED"}, {"mid"}),
            ({"status__in": "SCORED,REJECTED"}, {"low", "high"}),
            ({"score": "0.5"}, {"mid"}),
            ({"score__in": "0.2,0.9"}, {"low", "high"}),
            ({"score_min": "0.5"}, {"mid", "high"}),
            ({"score_max": "0.5"}, {"low", "mid"}),
            ({"rank": "1"}, {"high"}),
            ({"rank__in": "1,3"}, {"low", "high"}),
            ({"rank_min": "2"}, {"low", "mid"}),
            ({"rank_max": "2"}, {"mid", "high"}),
        ],
    )
    def test_filter(self, clips, user_client, params, expected):
        assert names_in(clips, user_client.get(CLIPS, params)) == expected

    def test_asset(self, clips, user_client):
        response = user_client.get(CLIPS, {"asset": str(clips["high"].asset_id)})
        assert names_in(clips, response) == {"high"}

    def test_asset_in(self, clips, user_client):
        response = user_client.get(CLIPS, {"asset__in": f"{clips['low'].asset_id},{clips['high'].asset_id}"})
        assert names_in(clips, response) == {"low", "mid", "high"}

    def test_ordering_by_score(self, clips, user_client):
        rows = user_client.get(CLIPS, {"ordering": "-score"}).json()["results"]
        assert [row["id"] for row in rows] == [str(clips[name].pk) for name in ("high", "mid", "low")]


class TestTopClips:
    def test_scored_clips_best_first_with_their_asset(self, user, user_client):
        asset = AssetFactory(user=user)
        low = ClipFactory(asset=asset, score=0.3)
        high = ClipFactory(asset=asset, score=0.8)
        ClipFactory(asset=asset, score=None)
        ClipFactory(asset=asset, score=0.99).soft_delete()
        data = user_client.get(TOP).json()
        assert [row["id"] for row in data] == [str(high.pk), str(low.pk)]
        assert data[0]["asset_summary"]["id"] == str(asset.pk)

    def test_only_own_clips(self, user, user_client):
        mine = ClipFactory(asset=AssetFactory(user=user), score=0.1)
        ClipFactory(score=0.9)
        assert ids(user_client.get(TOP)) == {str(mine.pk)}

    def test_each_caller_sees_their_own_clips_through_the_kept_sql(
        self, user, user_client, other_user, other_client, admin_client_api
    ):
        """The SQL is compiled once per role and limit (media.api.views.TOP_CLIP_ROWS): the callers after the first
        get their own clips from it, not the first caller's."""
        mine = ClipFactory(asset=AssetFactory(user=user), score=0.4)
        theirs = ClipFactory(asset=AssetFactory(user=other_user), score=0.6)
        for _ in range(2):
            assert ids(user_client.get(TOP)) == {str(mine.pk)}
            assert ids(other_client.get(TOP)) == {str(theirs.pk)}
            assert ids(admin_client_api.get(TOP)) == {str(mine.pk), str(theirs.pk)}
        assert ids(user_client.get(TOP, {"asset": str(mine.asset_id), "min_score": 0.3})) == {str(mine.pk)}
        assert ids(user_client.get(TOP, {"asset": str(mine.asset_id), "min_score": 0.5})) == set()

    def test_asset_limit_and_min_score(self, user, user_client):
        asset = AssetFactory(user=user)
        clips = [ClipFactory(asset=asset, score=score) for score in (0.1, 0.6, 0.7, 0.8)]
        ClipFactory(asset=AssetFactory(user=user), score=0.95)
        data = user_client.get(TOP, {"asset": str(asset.pk), "limit": 2, "min_score": 0.5}).json()
        assert [row["id"] for row in data] == [str(clips[3].pk), str(clips[2].pk)]

    def test_someone_elses_asset_is_400(self, user_client):
        response = user_client.get(TOP, {"asset": str(AssetFactory().pk)})
        assert response.status_code == 400
        assert "asset" in response.json()

    @pytest.mark.parametrize(("parameter", "value"), [("limit", 0), ("limit", 101), ("min_score", 2), ("asset", "x")])
    def test_bad_parameters_are_400_naming_the_parameter(self, user_client, parameter, value):
        assert parameter in refusal(user_client.get(TOP, {parameter: value}))

    @pytest.mark.parametrize("rows", [3, 30])
    def test_runs_a_fixed_number_of_queries(self, user, user_client, rows, django_assert_max_num_queries):
        for _ in range(rows):
            ClipFactory(asset=AssetFactory(user=user), score=0.5)
        with django_assert_max_num_queries(3):
            assert len(user_client.get(TOP, {"limit": 100}).json()) == rows


class TestClipScores:
    def test_sets_scores_and_marks_a_pending_clip_scored(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), status=ClipStatus.PENDING, score=None)
        response = user_client.post(url(CLIPS, clip, "scores"), {"score": 0.91, "viral_score": 0.5, "rank": 1})
        assert response.status_code == 200
        data = response.json()
        assert (data["score"], data["viral_score"], data["rank"], data["status"]) == (0.91, 0.5, 1, "SCORED")

    def test_explicit_status(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), status=ClipStatus.SCORED)
        response = user_client.post(url(CLIPS, clip, "scores"), {"score": 0.7, "status": "PUBLISHED"})
        assert response.json()["status"] == "PUBLISHED"

    def test_null_clears_a_score(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), viral_score=0.4)
        assert user_client.post(url(CLIPS, clip, "scores"), {"viral_score": None}).json()["viral_score"] is None

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"score": 1.01}, "score"),
            ({"engagement_score": -0.01}, "engagement_score"),
            ({"brand_safety_score": "high"}, "brand_safety_score"),
            ({"rank": 0}, "rank"),
            ({"status": "LOST"}, "status"),
            ({}, "non_field_errors"),
        ],
    )
    def test_invalid_input_is_400(self, user, user_client, payload, field):
        clip = ClipFactory(asset=AssetFactory(user=user))
        response = user_client.post(url(CLIPS, clip, "scores"), payload)
        assert response.status_code == 400
        assert field in response.json()

    def test_disallowed_status_is_400_and_writes_nothing(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), status=ClipStatus.REJECTED, score=0.2)
        response = user_client.post(url(CLIPS, clip, "scores"), {"score": 0.9, "status": "PUBLISHED"})
        assert response.status_code == 400
        assert "status" in response.json()
        assert Clip.objects.get(pk=clip.pk).score == 0.2


def prediction_payload(clip, **overrides):
    return {"clip": str(clip.pk), "model_version": "v2.1.0", "predicted_roas": 3.0, "predicted_ctr": 0.02, **overrides}


class TestPredictions(ChildResourceCases):
    url = PREDICTIONS
    model = Prediction
    factory = PredictionFactory
    owner = "clip__asset__user"
    parent = "clip"
    parent_factory = ClipFactory
    payload = staticmethod(prediction_payload)
    update_changes = {"predicted_roas": 3.0, "actual_roas": 4.0, "predicted_ctr": None}
    created = {"model_type": "roas", "prediction_error": None}
    partial_payload = {"model_type": "ctr", "confidence": 0.9}
    scoped_actions = [("actuals", {"actual_roas": 1})]
    invalid_values = [("confidence", 1.2), ("confidence", -0.1), ("features", [1])]
    detail_max_queries = 3

    def retrieved(self, row):
        return {"id": str(row.pk), "clip": str(row.clip_id), "model_version": "v1.0.0"}

    def embed(self, row, count):
        PredictionFactory.create_batch(count, clip=row.clip)

    def test_create_with_actuals_computes_the_error(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user))
        response = user_client.post(PREDICTIONS, prediction_payload(clip, actual_roas=2.0, prediction_error=0))
        assert response.json()["prediction_error"] == pytest.approx(0.5)

    def test_update_recomputes_the_error(self, user, user_client):
        prediction = self.make(user, predicted_roas=3.0)
        response = user_client.put(self.detail(prediction), self.update_payload(prediction))
        assert response.status_code == 200
        assert response.json()["prediction_error"] == pytest.approx(0.25)


class TestPredictionFilters:
    @pytest.fixture
    def predictions(self, user):
        first_clip = ClipFactory(asset=AssetFactory(user=user))
        second_clip = ClipFactory(asset=AssetFactory(user=user))
        return {
            "a": PredictionFactory(clip=first_clip, model_version="v1", model_type="roas"),
            "b": PredictionFactory(clip=first_clip, model_version="v2", model_type="ctr"),
            "c": PredictionFactory(clip=second_clip, model_version="v3", model_type="roas"),
        }

    def test_clip(self, predictions, user_client):
        response = user_client.get(PREDICTIONS, {"clip": str(predictions["a"].clip_id)})
        assert names_in(predictions, response) == {"a", "b"}

    def test_clip_in(self, predictions, user_client):
        clip_ids = f"{predictions['a'].clip_id},{predictions['c'].clip_id}"
        assert names_in(predictions, user_client.get(PREDICTIONS, {"clip__in": clip_ids})) == {"a", "b", "c"}

    def test_asset(self, predictions, user_client):
        response = user_client.get(PREDICTIONS, {"asset": str(predictions["c"].clip.asset_id)})
        assert names_in(predictions, response) == {"c"}

    def test_model_version(self, predictions, user_client):
        assert names_in(predictions, user_client.get(PREDICTIONS, {"model_version": "v2"})) == {"b"}

    def test_model_version_in(self, predictions, user_client):
        response = user_client.get(PREDICTIONS, {"model_version__in": "v1,v3"})
        assert names_in(predictions, response) == {"a", "c"}

    def test_model_type(self, predictions, user_client):
        assert names_in(predictions, user_client.get(PREDICTIONS, {"model_type": "roas"})) == {"a", "c"}

    def test_ordering_by_confidence(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user))
        low, high = PredictionFactory(clip=clip, confidence=0.5), PredictionFactory(clip=clip, confidence=0.9)
        rows = user_client.get(PREDICTIONS, {"ordering": "-confidence"}).json()["results"]
        assert [row["id"] for row in rows] == [str(high.pk), str(low.pk)]


class TestPredictionActuals:
    def test_stores_actuals_and_computes_the_mape(self, user, user_client):
        prediction = PredictionFactory(
            clip=ClipFactory(asset=AssetFactory(user=user)),
            predicted_roas=3.0,
            predicted_ctr=0.02,
            predicted_cpc=1.0,
            predicted_cpa=None,
            predicted_engagement=0.1,
        )
        payload = {"actual_roas": 4.0, "actual_ctr": 0.025, "actual_cpc": 0, "actual_cpa": 10.0}
        response = user_client.post(url(PREDICTIONS, prediction, "actuals"), payload)
        assert response.status_code == 200
        data = response.json()
        # roas |3-4|/4 = 0.25, ctr |0.02-0.025|/0.025 = 0.2; cpc has a zero actual, cpa no prediction.
        assert data["prediction_error"] == pytest.approx(0.225)
        assert data["actual_roas"] == 4.0
        assert Prediction.objects.get(pk=prediction.pk).prediction_error == pytest.approx(0.225)

    def test_no_qualifying_metric_gives_no_error(self, user, user_client):
        prediction = PredictionFactory(clip=ClipFactory(asset=AssetFactory(user=user)), predicted_cpa=None)
        response = user_client.post(url(PREDICTIONS, prediction, "actuals"), {"actual_cpa": 12})
        assert response.json()["prediction_error"] is None

    @pytest.mark.parametrize(
        ("payload", "field"),
        [({}, "non_field_errors"), ({"actual_roas": "lots"}, "actual_roas"), ({"actual_ctr": [1]}, "actual_ctr")],
    )
    def test_invalid_input_is_400(self, user, user_client, payload, field):
        prediction = PredictionFactory(clip=ClipFactory(asset=AssetFactory(user=user)))
        response = user_client.post(url(PREDICTIONS, prediction, "actuals"), payload)
        assert response.status_code == 400
        assert field in response.json()

    def test_unknown_keys_are_ignored_but_one_metric_is_needed(self, user, user_client):
        prediction = PredictionFactory(clip=ClipFactory(asset=AssetFactory(user=user)))
        response = user_client.post(url(PREDICTIONS, prediction, "actuals"), {"predicted_roas": 9})
        assert response.status_code == 400


def metric_payload(asset, **overrides):
    return {
        "asset": str(asset.pk),
        "platform": "meta",
        "date": "2025-02-01",
        "impressions": 1000,
        "clicks": 30,
        "conversions": 2,
        "spend": "12.50",
        "revenue": "50.00",
        "roas": "4.00",
        "ctr": "0.0300",
        "raw_data": {"source": "import"},
        **overrides,
    }


class TestPerformanceMetrics(ChildResourceCases):
    url = METRICS
    model = PerformanceMetric
    factory = PerformanceMetricFactory
    owner = "asset__user"
    parent = "asset"
    parent_factory = AssetFactory
    payload = staticmethod(metric_payload)
    update_changes = {"clicks": 99}
    partial_payload = {"revenue": "1.00"}
    invalid_values = [
        ("impressions", -1),
        ("clicks", -1),
        ("conversions", -1),
        ("spend", "-0.01"),
        ("revenue", "-1"),
        ("spend", "123456789.00"),
        ("ctr", "10.0000"),
        ("ctr", "-0.1"),
        ("date", "yesterday"),
    ]
    detail_max_queries = 3

    def retrieved(self, row):
        return {"id": str(row.pk), "spend": "150.00", "impressions": 10_000, "ctr": "0.0300"}

    def test_platform_defaults_to_meta(self, user, user_client):
        payload = self.create_payload(user)
        del payload["platform"]
        assert user_client.post(METRICS, payload).json()["platform"] == "meta"

    def test_same_asset_platform_and_date_is_400_on_date(self, user, user_client):
        asset = AssetFactory(user=user)
        PerformanceMetricFactory(asset=asset, platform="meta", date=datetime.date(2025, 2, 1))
        response = user_client.post(METRICS, metric_payload(asset))
        assert response.status_code == 400
        assert error_body(response) == {"date": ["This asset already has a meta metric for 2025-02-01."]}
        assert user_client.post(METRICS, metric_payload(asset, platform="google")).status_code == 201

    def test_partial_update_onto_an_existing_day_is_400(self, user, user_client):
        asset = AssetFactory(user=user)
        PerformanceMetricFactory(asset=asset, date=datetime.date(2025, 2, 1))
        metric = PerformanceMetricFactory(asset=asset, date=datetime.date(2025, 2, 2))
        response = user_client.patch(self.detail(metric), {"date": "2025-02-01"})
        assert response.status_code == 400
        assert "date" in response.json()


class TestPerformanceMetricFilters:
    @pytest.fixture
    def metrics(self, user):
        asset, other_asset = AssetFactory(user=user), AssetFactory(user=user)
        return {
            "a": PerformanceMetricFactory(asset=asset, platform="meta", date=datetime.date(2025, 1, 1)),
            "b": PerformanceMetricFactory(asset=asset, platform="google", date=datetime.date(2025, 1, 2)),
            "c": PerformanceMetricFactory(asset=other_asset, platform="tiktok", date=datetime.date(2025, 1, 3)),
        }

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"platform": "google"}, {"b"}),
            ({"platform__in": "meta,tiktok"}, {"a", "c"}),
            ({"date": "2025-01-02"}, {"b"}),
            ({"date_after": "2025-01-02"}, {"b", "c"}),
            ({"date_before": "2025-01-02"}, {"a", "b"}),
        ],
    )
    def test_filter(self, metrics, user_client, params, expected):
        assert names_in(metrics, user_client.get(METRICS, params)) == expected

    def test_asset(self, metrics, user_client):
        assert names_in(metrics, user_client.get(METRICS, {"asset": str(metrics["c"].asset_id)})) == {"c"}

    def test_asset_in(self, metrics, user_client):
        asset_ids = f"{metrics['a'].asset_id},{metrics['c'].asset_id}"
        assert names_in(metrics, user_client.get(METRICS, {"asset__in": asset_ids})) == {"a", "b", "c"}

    def test_default_ordering_is_newest_date_first(self, metrics, user_client):
        rows = user_client.get(METRICS).json()["results"]
        assert [row["id"] for row in rows] == [str(metrics[name].pk) for name in ("c", "b", "a")]

    def test_ordering_by_date(self, metrics, user_client):
        rows = user_client.get(METRICS, {"ordering": "date"}).json()["results"]
        assert [row["id"] for row in rows] == [str(metrics[name].pk) for name in ("a", "b", "c")]


def test_other_users_cannot_reach_media_with_their_own_key(other_client, user):
    asset = AssetFactory(user=user)
    assert other_client.get(url(ASSETS, asset)).status_code == 404


class TestWhatIsSetAtCreation:
    """A clip's asset and a prediction's clip are set at creation: an update ignores them (the schema's update
    bodies leave them out), so a body read from the API can be sent back."""

    def test_a_clip_keeps_its_asset(self, user, user_client):
        clip = ClipFactory(asset__user=user)
        other = AssetFactory(user=user)
        for method in (user_client.patch, user_client.put):
            response = method(f"{CLIPS}{clip.pk}/", {"asset": str(other.pk), "start_time": 1, "end_time": 2})
            assert (response.status_code, response.json()["asset"]) == (200, str(clip.asset_id))
        clip.refresh_from_db()
        assert clip.asset_id != other.pk

    def test_a_prediction_keeps_its_clip(self, user, user_client):
        prediction = PredictionFactory(clip__asset__user=user)
        response = user_client.patch(f"{PREDICTIONS}{prediction.pk}/", {"clip": "not-a-uuid", "model_version": "v9"})
        assert (response.status_code, response.json()["clip"]) == (200, str(prediction.clip_id))
        prediction.refresh_from_db()
        assert prediction.model_version == "v9"
