"""``Idempotency-Key`` on POST (gateway/api/idempotency.py): a retry gets the first answer, not a second write.

The race of two concurrent requests with one key and the retry after a restart run against live servers
in ``test_concurrent_writes.py``.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from procrastinate.contrib.django import app

from campaigns.factories import CampaignFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion
from gateway.models import IdempotencyKey
from gateway.tasks import purge_idempotency_keys
from gateway.tests.api_helpers import client_for, refusal
from users.factories import ApiKeyFactory
from users.models import ApiKey

pytestmark = pytest.mark.django_db

API = "/api/v1"
CAMPAIGNS = f"{API}/campaigns/"
KEY = "0b8f6c1e-2f0a-4c55-9d7e-1f6e3a9b2c4d"


def create(client, body=None, key=KEY, **headers):
    body = body or {"name": "Retried", "budget": "100.00"}
    return client.post(CAMPAIGNS, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_a_retry_gets_the_first_answer_without_a_second_write(user_client):
    first = create(user_client)
    again = create(user_client)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Campaign.objects.filter(name="Retried").count() == 1


def test_a_replay_says_so(user_client):
    assert not create(user_client).has_header("Idempotent-Replayed")
    assert create(user_client)["Idempotent-Replayed"] == "true"


def test_a_replay_keeps_the_headers_of_the_first_answer(user, experiment_of):
    client = client_for(user)
    experiment = experiment_of(user)
    url = f"{API}/experiments/{experiment.pk}/evaluate/"
    first = client.post(url, {"apply": True}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = client.post(url, {"apply": True}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == again.status_code == 202
    assert again["Location"] == first["Location"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again.json()["id"] == first.json()["id"]


def test_the_same_body_in_another_key_order_is_the_same_request(user_client):
    create(user_client, {"name": "Retried", "budget": "100.00"})
    assert create(user_client, {"budget": "100.00", "name": "Retried"}).status_code == 201
    assert Campaign.objects.filter(name="Retried").count() == 1


def test_the_same_key_with_another_body_is_a_422_naming_the_header(user_client):
    create(user_client)
    response = create(user_client, {"name": "Something else", "budget": "100.00"})
    assert "Idempotency-Key" in refusal(response, 422)["detail"]
    assert not Campaign.objects.filter(name="Something else").exists()


def test_the_same_key_on_another_endpoint_is_a_422(user_client, user):
    create(user_client)
    campaign = CampaignFactory(user=user)
    response = user_client.post(
        f"{CAMPAIGNS}{campaign.pk}/status/", {"status": "ACTIVE"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY
    )
    assert response.status_code == 422


def test_keys_are_per_api_key(user):
    create(client_for(user))
    assert create(client_for(user)).status_code == 201
    assert Campaign.objects.filter(name="Retried").count() == 2


def test_the_quoted_form_of_the_draft_is_the_same_key(user_client):
    create(user_client)
    assert create(user_client, key=f'"{KEY}"')["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "naïve", "semi;colon"], ids=repr)
def test_a_malformed_key_is_a_400_naming_the_header(user_client, key):
    response = create(user_client, key=key)
    assert list(refusal(response, 400)) == ["Idempotency-Key"]
    assert not Campaign.objects.filter(name="Retried").exists()


def test_a_refused_request_stores_no_key_so_a_fixed_retry_writes(user_client):
    refused = create(user_client, {"name": "Retried", "budget": "-1.00"})
    assert refused.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert create(user_client).status_code == 201


def test_the_key_commits_with_the_write(user_client, user):
    create(user_client)
    stored = IdempotencyKey.objects.get()
    assert (stored.user, stored.key, stored.status_code) == (user, KEY, 201)
    assert stored.expires_at - stored.created_at == timedelta(hours=24)


def test_an_expired_key_starts_afresh(user_client):
    create(user_client)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = create(user_client, {"name": "Another day", "budget": "1.00"})
    assert second.status_code == 201 and not second.has_header("Idempotent-Replayed")
    assert Campaign.objects.filter(name="Another day").exists()


def test_an_ingest_is_replayed_not_ingested_twice(user_client, user):
    campaign = CampaignFactory(user=user)
    body = {"conversions": [{"campaign": str(campaign.pk), "value": "5.00"}]}  # no external_id: no dedup of its own
    answers = [
        user_client.post(f"{API}/conversions/ingest/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY) for _ in "12"
    ]
    assert answers[0].json() == answers[1].json() == {"created": 1, "duplicates": 0, "errors": []}
    assert Conversion.objects.filter(campaign=campaign).count() == 1


def test_a_replayed_api_key_creation_never_shows_the_secret_again(user_client):
    first = user_client.post(f"{API}/api-keys/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = user_client.post(f"{API}/api-keys/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.json()["key"] and again.json()["key"] is None
    assert {**again.json(), "key": None} == {**first.json(), "key": None}
    assert ApiKey.objects.filter(name="ci").count() == 1
    assert first.json()["key"].encode() not in bytes(IdempotencyKey.objects.get().response_body)


def test_a_post_without_a_key_is_not_stored(user_client):
    user_client.post(CAMPAIGNS, {"name": "Plain", "budget": "1.00"}, format="json")
    assert not IdempotencyKey.objects.exists()


class TestPurge:
    @pytest.fixture
    def keys(self, user):
        api_key = ApiKeyFactory(user=user)
        now = timezone.now()
        for name, expires in (("old", now - timedelta(minutes=1)), ("live", now + timedelta(hours=1))):
            IdempotencyKey.objects.create(
                user=user, api_key_id=api_key.pk, key=name, fingerprint="0" * 64, status_code=201, expires_at=expires
            )

    def test_the_command_deletes_expired_keys_only(self, keys, capsys):
        call_command("purge_idempotency_keys")
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]
        assert "Deleted 1 expired idempotency key." in capsys.readouterr().out

    def test_the_job_deletes_expired_keys_only(self, keys):
        assert purge_idempotency_keys(timestamp=0) == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]

    def test_the_job_runs_every_hour(self):
        task = ("gateway.tasks.purge_idempotency_keys", "purge-idempotency-keys")
        periodic = app.periodic_registry.periodic_tasks[task]
        assert periodic.cron == "0 */1 * * *"


@pytest.fixture
def experiment_of():
    return lambda user: ExperimentFactory(campaign=CampaignFactory(user=user), status="RUNNING")
