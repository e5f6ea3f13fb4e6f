"""ETags on single objects, ``If-None-Match`` (304) and ``If-Match`` (412) (gateway/api/conditional.py).

The race of two real clients sending the same ``If-Match`` is in ``test_concurrent_writes.py``.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign
from gateway.tests.api_helpers import client_for, refusal
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
STALE = '"0123456789abcdef0123456789abcdef"'


def campaign_url(campaign) -> str:
    return f"{API}/campaigns/{campaign.pk}/"


@pytest.fixture
def campaign(user):
    return CampaignFactory(user=user, name="Before")


class TestETags:
    def test_a_detail_answer_carries_a_strong_etag(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")

    def test_the_etag_stays_while_the_object_does(self, user_client, campaign):
        assert user_client.get(campaign_url(campaign))["ETag"] == user_client.get(campaign_url(campaign))["ETag"]

    def test_the_etag_changes_when_the_object_does(self, user_client, campaign):
        before = user_client.get(campaign_url(campaign))["ETag"]
        Campaign.objects.filter(pk=campaign.pk).update(description="changed behind the API's back")
        assert user_client.get(campaign_url(campaign))["ETag"] != before

    def test_the_etag_changes_when_an_embedded_row_does(self, user_client, campaign):
        before = user_client.get(campaign_url(campaign))["ETag"]
        ExperimentFactory(campaign=campaign)
        assert user_client.get(campaign_url(campaign))["ETag"] != before

    def test_an_update_answers_with_the_etag_a_read_then_gives(self, user_client, campaign):
        response = user_client.patch(campaign_url(campaign), {"name": "After"}, format="json")
        assert response["ETag"] == user_client.get(campaign_url(campaign))["ETag"]

    def test_an_action_answers_with_the_objects_new_etag(self, user_client, user):
        clip = ClipFactory(asset=AssetFactory(user=user))
        response = user_client.post(f"{API}/clips/{clip.pk}/scores/", {"score": 0.5}, format="json")
        assert response.status_code == 200
        assert response["ETag"] == user_client.get(f"{API}/clips/{clip.pk}/")["ETag"]

    def test_users_me_has_an_etag_of_its_own(self, user_client):
        etag = user_client.get(f"{API}/users/me/")["ETag"]
        response = user_client.patch(f"{API}/users/me/", {"name": "New"}, format="json", HTTP_IF_MATCH=etag)
        assert response.status_code == 200
        assert response["ETag"] == user_client.get(f"{API}/users/me/")["ETag"] != etag

    def test_a_job_has_an_etag(self, user, admin_client_api):
        from campaigns.tasks import evaluate_experiment
        from gateway.jobs import defer

        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        record = defer(evaluate_experiment, user=user, experiment_id=str(experiment.pk), metric="ctr")
        response = client_for(user).get(f"{API}/jobs/{record.job_id}/")
        assert response.status_code == 200 and response["ETag"]

    def test_a_list_has_no_etag(self, user_client, campaign):
        assert not user_client.get(f"{API}/campaigns/").has_header("ETag")


class TestIfNoneMatch:
    def test_the_current_etag_is_a_304_without_a_body(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        response = user_client.get(campaign_url(campaign), HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag

    def test_a_weak_form_of_the_current_etag_is_a_304(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        assert user_client.get(campaign_url(campaign), HTTP_IF_NONE_MATCH=f'"x", W/{etag}').status_code == 304

    def test_an_old_etag_gets_the_object(self, user_client, campaign):
        response = user_client.get(campaign_url(campaign), HTTP_IF_NONE_MATCH=STALE)
        assert response.status_code == 200
        assert response.json()["name"] == "Before"

    def test_someone_elses_object_is_still_a_404(self, other_client, campaign):
        assert other_client.get(campaign_url(campaign), HTTP_IF_NONE_MATCH="*").status_code == 404


class TestIfMatch:
    def test_a_write_without_if_match_is_unconditional(self, user_client, campaign):
        assert user_client.patch(campaign_url(campaign), {"name": "After"}, format="json").status_code == 200

    def test_the_current_etag_lets_the_write_through(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        response = user_client.patch(campaign_url(campaign), {"name": "After"}, format="json", HTTP_IF_MATCH=etag)
        assert response.status_code == 200
        assert Campaign.objects.get(pk=campaign.pk).name == "After"

    def test_a_stale_etag_is_a_412_and_writes_nothing(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        user_client.patch(campaign_url(campaign), {"description": "someone else's"}, format="json")
        response = user_client.patch(campaign_url(campaign), {"name": "After"}, format="json", HTTP_IF_MATCH=etag)
        assert refusal(response, 412) == {"detail": response.json()["detail"]}
        assert "If-Match" in response.json()["detail"]
        assert Campaign.objects.get(pk=campaign.pk).name == "Before"

    def test_a_star_matches_any_current_etag(self, user_client, campaign):
        response = user_client.patch(campaign_url(campaign), {"name": "After"}, format="json", HTTP_IF_MATCH="*")
        assert response.status_code == 200

    def test_one_of_several_etags_may_match(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        response = user_client.patch(
            campaign_url(campaign), {"name": "After"}, format="json", HTTP_IF_MATCH=f"{STALE}, {etag}"
        )
        assert response.status_code == 200

    def test_a_weak_etag_never_matches(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        response = user_client.patch(campaign_url(campaign), {"name": "x"}, format="json", HTTP_IF_MATCH=f"W/{etag}")
        assert response.status_code == 412

    def test_a_stale_delete_is_a_412_and_the_row_stays(self, user_client, campaign):
        response = user_client.delete(campaign_url(campaign), HTTP_IF_MATCH=STALE)
        assert response.status_code == 412
        assert Campaign.objects.filter(pk=campaign.pk).exists()

    def test_a_current_delete_deletes(self, user_client, campaign):
        etag = user_client.get(campaign_url(campaign))["ETag"]
        assert user_client.delete(campaign_url(campaign), HTTP_IF_MATCH=etag).status_code == 204
        assert not Campaign.objects.filter(pk=campaign.pk).exists()

    def test_a_stale_action_is_a_412_and_writes_nothing(self, user_client, campaign):
        response = user_client.post(
            f"{campaign_url(campaign)}metrics/", {"clicks": 5}, format="json", HTTP_IF_MATCH=STALE
        )
        assert response.status_code == 412
        assert Campaign.objects.get(pk=campaign.pk).total_clicks == campaign.total_clicks

    def test_a_restore_compares_with_the_deleted_rows_etag(self, admin_client_api, campaign):
        campaign.soft_delete()
        etag = admin_client_api.get(f"{campaign_url(campaign)}?is_deleted=true")["ETag"]
        response = admin_client_api.post(f"{campaign_url(campaign)}restore/", HTTP_IF_MATCH=etag)
        assert response.status_code == 200
        assert response["ETag"] == admin_client_api.get(campaign_url(campaign))["ETag"]

    def test_someone_elses_object_is_a_404_not_a_412(self, other_client, campaign):
        response = other_client.patch(campaign_url(campaign), {"name": "x"}, format="json", HTTP_IF_MATCH=STALE)
        assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_options_with_if_match_reads_without_locking(user_client, campaign):
    # DRF's OPTIONS answer reads the object on a copy of the request as a PUT; outside a transaction (as
    # on a live server, not in a test's) locking it there was a 500 (select_for_update). Found by `make fuzz`.
    response = user_client.options(campaign_url(campaign), HTTP_IF_MATCH=STALE)
    assert response.status_code == 200, response.content


def rows_of_every_resource(admin):
    """One row per resource an ADMIN reaches, by the schema's path prefix."""
    owner = UserFactory()
    asset = AssetFactory(user=owner)
    clip = ClipFactory(asset=asset)
    campaign = CampaignFactory(user=owner)
    return {
        "users": owner,
        "api-keys": ApiKeyFactory(user=owner),
        "assets": asset,
        "clips": clip,
        "predictions": PredictionFactory(clip=clip),
        "performance-metrics": PerformanceMetricFactory(asset=asset),
        "campaigns": campaign,
        "experiments": ExperimentFactory(campaign=campaign),
        "conversions": ConversionFactory(campaign=campaign),
        "knowledge-documents": KnowledgeDocumentFactory(),
    }


def row_writes():
    """Every write on one object the schema has: (method, path template)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete") and ("{id}" in path or path.endswith("/users/me/"))
    )


@pytest.mark.parametrize(("method", "path"), row_writes(), ids=lambda value: str(value))
def test_every_write_on_one_object_honours_if_match(method, path):
    admin = AdminUserFactory()
    rows = rows_of_every_resource(admin)
    row = rows.get(path.split("/")[3])
    url = path.replace("{id}", str(row.pk)) if row is not None else path
    before = row and type(row)._base_manager.filter(pk=row.pk).values().get()
    response = getattr(client_for(admin), method.lower())(url, {}, format="json", HTTP_IF_MATCH=STALE)
    assert response.status_code == 412, response.content[:300]
    if row is not None:
        assert type(row)._base_manager.filter(pk=row.pk).values().get() == before
