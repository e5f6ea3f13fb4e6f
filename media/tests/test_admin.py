import pytest

from gateway.tests.admin_helpers import (
    add_url,
    assert_form_error,
    assert_shows_deleted,
    change_url,
    changelist_url,
    each_model,
    form_data,
    form_errors,
    messages_of,
    post_change_form,
    run_action,
    same_query_count,
    staff_user,
)
from media.choices import AssetStatus, ClipStatus
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import Asset, Clip, PerformanceMetric, Prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_rows():
    """A live asset with clips, predictions and metrics, and a soft-deleted asset (with its clips)."""
    asset = AssetFactory(original_name="launch-teaser.mp4")
    clips = ClipFactory.create_batch(3, asset=asset)
    PredictionFactory.create_batch(2, clip=clips[0])
    PerformanceMetricFactory(asset=asset)
    deleted = AssetFactory(original_name="old-cut.mp4")
    ClipFactory(asset=deleted)
    deleted.soft_delete()
    return {"asset": asset, "clips": clips, "deleted": deleted}


MODELS = [Asset, Clip, Prediction, PerformanceMetric]


def action_names(client, model) -> set[str]:
    return {name for name, _ in client.get(changelist_url(model)).context["action_form"].fields["action"].choices}


class TestPagesRender:
    @each_model(MODELS)
    @pytest.mark.parametrize("params", [{}, {"q": "launch"}, {"q": "0123abcd"}, {"o": "2"}], ids=str)
    def test_changelist(self, admin_client, media_rows, model, params):
        response = admin_client.get(changelist_url(model, **params))
        assert response.status_code == 200

    @each_model([Asset, Clip])
    @pytest.mark.parametrize("deleted", ["yes", "all"])
    def test_changelist_with_deleted_rows(self, admin_client, media_rows, model, deleted):
        params = {"deleted": deleted}
        response = admin_client.get(changelist_url(model, **params))
        assert response.status_code == 200

    @each_model(MODELS)
    def test_add_form(self, admin_client, media_rows, model):
        assert admin_client.get(add_url(model)).status_code == 200

    @each_model(MODELS)
    def test_change_form(self, admin_client, media_rows, model):
        obj = model._base_manager.first()
        assert admin_client.get(change_url(model, obj.pk)).status_code == 200

    @each_model([Asset, Clip])
    def test_change_form_of_deleted_row_says_deleted(self, admin_client, media_rows, model):
        obj = model.all_objects.filter(deleted_at__isnull=False).first()
        response = assert_shows_deleted(admin_client, obj)
        assert b"Restore" in response.content

    def test_date_hierarchy_drill_down(self, admin_client, media_rows):
        created = media_rows["asset"].created_at
        params = {"created_at__year": created.year, "created_at__month": created.month, "created_at__day": created.day}
        for depth in range(1, 4):
            response = admin_client.get(changelist_url(Clip, **dict(list(params.items())[:depth])))
            assert response.status_code == 200


class TestChangelists:
    def test_deleted_rows_are_hidden_by_default(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Asset))
        assert b"launch-teaser.mp4" in response.content
        assert b"old-cut.mp4" not in response.content

    def test_deleted_filter_shows_them_as_deleted(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Asset, deleted="yes"))
        assert b"old-cut.mp4" in response.content
        assert b"launch-teaser.mp4" not in response.content
        assert b'class="gv-deleted"' in response.content

    def test_asset_clip_count_is_computed(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Asset))
        asset = next(row for row in response.context["cl"].result_list if row.pk == media_rows["asset"].pk)
        assert asset.clip_count == 3

    def test_deleted_asset_counts_the_clips_deleted_with_it(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Asset, deleted="yes"))
        assert [row.clip_count for row in response.context["cl"].result_list] == [1]

    def test_filter_clips_by_status(self, admin_client, media_rows):
        rejected = ClipFactory(status=ClipStatus.REJECTED)
        response = admin_client.get(changelist_url(Clip, status__exact="REJECTED"))
        assert [clip.pk for clip in response.context["cl"].result_list] == [rejected.pk]

    def test_filter_clips_by_asset_id(self, admin_client, media_rows):
        ClipFactory()
        response = admin_client.get(changelist_url(Clip, asset=str(media_rows["asset"].pk)))
        assert {clip.pk for clip in response.context["cl"].result_list} == {clip.pk for clip in media_rows["clips"]}

    def test_filter_clips_by_owner_email(self, admin_client, media_rows):
        ClipFactory()
        owner = media_rows["asset"].user
        response = admin_client.get(changelist_url(Clip, owner=owner.email.upper()))
        assert len(response.context["cl"].result_list) == 3

    def test_invalid_id_filter_matches_nothing_with_a_message(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Clip, asset="not-an-id"))
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []
        assert any("is not valid" in message for message in messages_of(response))

    def test_search_clip_by_short_id(self, admin_client, media_rows):
        clip = media_rows["clips"][1]
        response = admin_client.get(changelist_url(Clip, q=str(clip.pk)[:8]))
        assert [row.pk for row in response.context["cl"].result_list] == [clip.pk]

    def test_search_clips_by_asset_id(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Clip, q=str(media_rows["asset"].pk)))
        assert len(response.context["cl"].result_list) == 3

    def test_search_asset_by_name(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Asset, q="teaser"))
        assert [row.pk for row in response.context["cl"].result_list] == [media_rows["asset"].pk]

    def test_asset_page_links_back_to_its_owner(self, admin_client, media_rows):
        asset = media_rows["asset"]
        content = admin_client.get(change_url(Asset, asset.pk)).content.decode()
        assert f'href="{change_url(type(asset.user), asset.user_id)}"' in content

    def test_search_assets_by_owner_email(self, admin_client, media_rows):
        AssetFactory()
        owner = media_rows["asset"].user
        response = admin_client.get(changelist_url(Asset, q=owner.email.upper()))
        assert [row.pk for row in response.context["cl"].result_list] == [media_rows["asset"].pk]

    def test_search_clips_by_asset_name(self, admin_client, media_rows):
        ClipFactory(asset=AssetFactory(original_name="other.mp4"))
        response = admin_client.get(changelist_url(Clip, q="launch-teaser"))
        assert {row.pk for row in response.context["cl"].result_list} == {clip.pk for clip in media_rows["clips"]}

    def test_a_clip_is_titled_by_its_asset_name_and_segment(self, admin_client):
        clip = ClipFactory(asset=AssetFactory(original_name="launch.mp4"), start_time=80, end_time=95)
        response = admin_client.get(change_url(Clip, clip.pk))
        assert response.context["subtitle"] == "launch.mp4 [80s–95s]"
        assert "&rsaquo; launch.mp4 [80s–95s]" in response.content.decode()

    def test_the_clip_search_looks_the_asset_name_up_in_the_asset_table_first(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Clip, q="launch-teaser"))
        sql = str(response.context["cl"].queryset.query)
        assert '"clips"."asset_id" IN (' in sql
        assert "original_name" not in sql.split("WHERE", 1)[1]

    def test_prediction_filter_by_model_version(self, admin_client, media_rows):
        other = PredictionFactory(model_version="v2.0.0")
        response = admin_client.get(changelist_url(Prediction, model_version="v2.0.0"))
        assert [row.pk for row in response.context["cl"].result_list] == [other.pk]

    def test_count_is_exact_for_small_lists(self, admin_client, media_rows):
        response = admin_client.get(changelist_url(Clip))
        assert response.context["cl"].result_count == 3
        assert b"about" not in response.content.split(b'class="paginator"')[1]


class TestQueryCounts:
    """The number of queries of a page does not grow with the rows on it."""

    @staticmethod
    def clips(count):
        assets = AssetFactory.create_batch(3)
        for index in range(count):
            PredictionFactory(clip=ClipFactory(asset=assets[index % 3]))

    @each_model(MODELS)
    def test_changelist(self, admin_client, model):
        self.clips(5)
        PerformanceMetricFactory.create_batch(5)
        with same_query_count(admin_client, changelist_url(model)):
            self.clips(45)
            PerformanceMetricFactory.create_batch(45)

    def test_asset_change_form(self, admin_client):
        asset = AssetFactory()
        ClipFactory.create_batch(2, asset=asset)
        with same_query_count(admin_client, change_url(Asset, asset.pk)):
            ClipFactory.create_batch(30, asset=asset)

    def test_clip_change_form(self, admin_client):
        clip = ClipFactory()
        PredictionFactory.create_batch(2, clip=clip)
        with same_query_count(admin_client, change_url(Clip, clip.pk)):
            PredictionFactory.create_batch(30, clip=clip)


class TestInlines:
    def test_asset_shows_its_clips(self, admin_client, media_rows):
        response = admin_client.get(change_url(Asset, media_rows["asset"].pk))
        formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Clip)
        assert {form.original.pk for form in formset} == {clip.pk for clip in media_rows["clips"]}
        assert f"?asset={media_rows['asset'].pk}".encode() in response.content

    def test_inline_shows_the_latest_20_only(self, admin_client):
        asset = AssetFactory()
        ClipFactory.create_batch(25, asset=asset)
        response = admin_client.get(change_url(Asset, asset.pk))
        formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Clip)
        assert len(list(formset)) == 20
        assert b"The latest 20 are shown." in response.content

    def test_saving_an_asset_ignores_its_read_only_clips(self, admin_client, media_rows):
        asset = media_rows["asset"]
        response = admin_client.get(change_url(Asset, asset.pk))
        data = form_data(response)
        data["original_name"] = "renamed.mp4"
        response = admin_client.post(change_url(Asset, asset.pk), data)
        assert response.status_code == 302
        asset.refresh_from_db()
        assert asset.original_name == "renamed.mp4"


class TestActions:
    def test_soft_delete_hides_asset_and_clips(self, admin_client, media_rows):
        asset = media_rows["asset"]
        run_action(admin_client, Asset, "soft_delete_selected", [asset])
        asset.refresh_from_db()
        assert asset.deleted_at is not None
        assert not Clip.objects.filter(asset=asset).exists()

    def test_restore_brings_back_asset_and_clips(self, admin_client, media_rows):
        deleted = media_rows["deleted"]
        response = run_action(admin_client, Asset, "restore_selected", [deleted], url_params={"deleted": "yes"})
        assert "Restored 1 asset." in messages_of(response)
        deleted.refresh_from_db()
        assert deleted.deleted_at is None
        assert Clip.objects.filter(asset=deleted).count() == 1

    def test_hard_delete_is_for_superusers_only(self, client, admin_client, media_rows):
        assert "delete_selected" in action_names(admin_client, Asset)
        client.force_login(staff_user("media.view_asset", "media.change_asset", "media.delete_asset"))
        actions = action_names(client, Asset)
        assert "soft_delete_selected" in actions
        assert "delete_selected" not in actions

    def test_superuser_hard_delete_removes_the_row(self, admin_client, media_rows):
        deleted = media_rows["deleted"]
        run_action(admin_client, Asset, "delete_selected", [deleted], url_params={"deleted": "yes"}, post="yes")
        assert not Asset.all_objects.filter(pk=deleted.pk).exists()

    def test_change_status_shows_a_form_first(self, admin_client, media_rows):
        response = run_action(admin_client, Asset, "change_status", [media_rows["asset"]])
        assert response.status_code == 200
        assert b'name="status"' in response.content

    def test_change_status_calls_the_service(self, admin_client, media_rows):
        asset = media_rows["asset"]  # READY
        run_action(admin_client, Asset, "change_status", [asset], apply="1", status=AssetStatus.ARCHIVED)
        asset.refresh_from_db()
        assert asset.status == AssetStatus.ARCHIVED

    def test_refused_status_change_is_a_message(self, admin_client, media_rows):
        asset = media_rows["asset"]  # READY cannot go to PENDING
        response = run_action(admin_client, Asset, "change_status", [asset], apply="1", status=AssetStatus.PENDING)
        assert any("Cannot change status from READY to PENDING" in message for message in messages_of(response))
        asset.refresh_from_db()
        assert asset.status == AssetStatus.READY

    def test_failed_status_records_the_error(self, admin_client):
        asset = AssetFactory(status=AssetStatus.PROCESSING)
        run_action(
            admin_client, Asset, "change_status", [asset], apply="1", status="FAILED", processing_error="bad codec"
        )
        asset.refresh_from_db()
        assert (asset.status, asset.processing_error) == (AssetStatus.FAILED, "bad codec")

    def test_change_clip_status(self, admin_client, media_rows):
        clips = media_rows["clips"]  # SCORED
        run_action(admin_client, Clip, "change_status", clips, apply="1", status=ClipStatus.PUBLISHED)
        assert set(Clip.objects.filter(pk__in=[c.pk for c in clips]).values_list("status", flat=True)) == {
            ClipStatus.PUBLISHED
        }

    def test_soft_delete_and_restore_from_the_change_form(self, admin_client, media_rows):
        clip = media_rows["clips"][0]
        admin_client.post(f"/admin/media/clip/{clip.pk}/soft-delete/")
        clip.refresh_from_db()
        assert clip.deleted_at is not None
        admin_client.post(f"/admin/media/clip/{clip.pk}/restore/")
        clip.refresh_from_db()
        assert clip.deleted_at is None

    def test_soft_delete_view_needs_post(self, admin_client, media_rows):
        clip = media_rows["clips"][0]
        assert admin_client.get(f"/admin/media/clip/{clip.pk}/soft-delete/").status_code == 405


class TestForms:
    def test_bad_json_is_a_form_error(self, admin_client, media_rows):
        clip = media_rows["clips"][0]
        response = post_change_form(admin_client, clip, features='{"faces": 2,')
        assert_form_error(response, "features")
        assert b"{&quot;faces&quot;: 2," in response.content

    def test_json_of_the_wrong_shape_is_a_form_error(self, admin_client, media_rows):
        clip = media_rows["clips"][0]
        response = post_change_form(admin_client, clip, features="[1, 2]")
        assert form_errors(response)["features"] == ["Must be a JSON object."]

    def test_json_is_shown_pretty_printed(self, admin_client):
        clip = ClipFactory(features={"faces": 2, "objects": ["car"]})
        response = admin_client.get(change_url(Clip, clip.pk))
        assert b"{\n  &quot;faces&quot;: 2," in response.content

    def test_edited_scores_go_through_the_service(self, admin_client):
        clip = ClipFactory(status=ClipStatus.PENDING, score=None)
        response = post_change_form(admin_client, clip, score="0.8")
        assert response.status_code == 302
        clip.refresh_from_db()
        assert (clip.score, clip.status) == (0.8, ClipStatus.SCORED)

    def test_out_of_range_score_is_a_form_error(self, admin_client):
        clip = ClipFactory()
        response = post_change_form(admin_client, clip, score="1.5")
        assert response.status_code == 200
        assert form_errors(response)

    def test_edited_actuals_recompute_the_prediction_error(self, admin_client):
        prediction = PredictionFactory(predicted_roas=2.0, predicted_ctr=None, predicted_cpc=None)
        prediction.predicted_cpa = prediction.predicted_engagement = None
        prediction.save()
        response = post_change_form(admin_client, prediction, actual_roas="4.0")
        assert response.status_code == 302
        prediction.refresh_from_db()
        assert prediction.prediction_error == pytest.approx(0.5)

    def test_add_asset(self, admin_client, user):
        data = {
            "user": str(user.pk),
            "original_name": "new.mp4",
            "filename": "new.mp4",
            "mime_type": "video/mp4",
            "file_size": "1000",
            "gcs_url": "gs://bucket/new.mp4",
            "gcs_bucket": "bucket",
            "gcs_path": "new.mp4",
            "status": AssetStatus.PENDING,
            "metadata": "",
            "clips-TOTAL_FORMS": "0",
            "clips-INITIAL_FORMS": "0",
        }
        response = admin_client.post(add_url(Asset), data)
        assert response.status_code == 302, form_errors(response)
        assert Asset.objects.get(gcs_url="gs://bucket/new.mp4").metadata == {}
