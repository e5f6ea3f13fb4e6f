"""Races through the API with real threads, each on its own database connection, committed for real.

Concurrent metric increments and duplicate conversion deliveries are in ``campaigns/tests`` (services
and API). Here: two (and more) staff choosing different winners of one experiment at once end with one
winner that every answer agrees with, and concurrent status changes only ever follow the allowed
transitions -- checked by replaying the committed changes in the order of their ``updated_at`` (written
while the row lock is held, so it is the commit order).
"""

import random
import threading

import pytest
from django.db import connection
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from campaigns.choices import CampaignStatus, ExperimentStatus
from campaigns.factories import CampaignFactory, ExperimentFactory
from campaigns.models import Campaign
from campaigns.services import CAMPAIGN_TRANSITIONS
from gateway.tests.api_helpers import error_body
from media.choices import AssetStatus
from media.factories import AssetFactory
from media.models import Asset
from media.services import ASSET_TRANSITIONS
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def client_with_key(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKeyFactory(user=user).secret}")
    return client


def run_together(workers) -> list:
    """Run the callables in threads released at once; returns their results in order. Errors are re-raised."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)
    errors = []

    def run(index, work):
        try:
            barrier.wait(timeout=30)
            results[index] = work()
        except Exception as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    if errors:
        raise errors[0]
    return results


def assert_follows_transitions(initial, outcomes, transitions, final):
    """``outcomes``: (requested, response) pairs. Replays the 200s in commit order from ``initial``."""
    accepted = sorted(
        ((response.json()["updated_at"], requested) for requested, response in outcomes if response.status_code == 200)
    )
    times = [updated_at for updated_at, _ in accepted]
    assert len(set(times)) == len(times), "two changes committed with the same updated_at"
    current, chain = initial, [initial]
    for _, requested in accepted:
        assert requested == current or requested in transitions[current], f"{current} -> {requested} was accepted"
        current = requested
        chain.append(current)
    assert current == final, "the stored status is not the last accepted change"
    for requested, response in outcomes:
        if response.status_code != 200:
            assert response.status_code == 400, response.content
            message = next(iter(response.json().values()))[0]
            # Refused from a state the row really was in, and for a change that state does not allow.
            source = message.removeprefix("Cannot change status from ").split(" to ")[0]
            assert source in chain, message
            assert requested not in transitions[source], message
    return chain


class TestSelectWinner:
    def test_two_staff_choosing_different_winners_at_once_end_with_one_winner(self):
        experiment = ExperimentFactory(status=ExperimentStatus.RUNNING)
        staff = [client_with_key(AdminUserFactory()) for _ in range(2)]
        url = f"/api/v1/experiments/{experiment.pk}/select-winner/"

        responses = run_together(
            [
                lambda: staff[0].post(url, {"variant_id": "variant-a", "confidence": 0.9}, format="json"),
                lambda: staff[1].post(url, {"variant_id": "variant-b", "confidence": 0.8}, format="json"),
            ]
        )
        assert sorted(response.status_code for response in responses) == [200, 400]
        won = next(response for response in responses if response.status_code == 200).json()
        lost = error_body(next(response for response in responses if response.status_code == 400))
        experiment.refresh_from_db()
        assert (experiment.winner_variant_id, experiment.status) == (won["winner_variant_id"], "COMPLETED")
        assert experiment.confidence == won["confidence"]
        assert lost == {"variant_id": [f"The experiment already has a winner: {experiment.winner_variant_id}."]}

    def test_many_staff_at_once_agree_on_the_winner_and_its_time(self):
        experiment = ExperimentFactory(status=ExperimentStatus.RUNNING)
        url = f"/api/v1/experiments/{experiment.pk}/select-winner/"
        clients = [client_with_key(AdminUserFactory()) for _ in range(8)]
        choices = ["variant-a", "variant-b"] * 4

        responses = run_together(
            [
                lambda client=client, choice=choice: client.post(url, {"variant_id": choice}, format="json")
                for client, choice in zip(clients, choices, strict=True)
            ]
        )
        experiment.refresh_from_db()
        winner = experiment.winner_variant_id
        assert winner in ("variant-a", "variant-b")
        for choice, response in zip(choices, responses, strict=True):
            # Choosing the winner again is harmless (200, nothing changes); the other variant is refused.
            assert response.status_code == (200 if choice == winner else 400), response.content
        selected = {response.json()["winner_selected_at"] for response in responses if response.status_code == 200}
        assert [parse_datetime(value) for value in selected] == [experiment.winner_selected_at]


class TestStatusChanges:
    def test_pausing_and_archiving_at_once_never_leave_an_archived_campaign_paused(self):
        owner = UserFactory()
        campaign = CampaignFactory(user=owner, status=CampaignStatus.ACTIVE)
        url = f"/api/v1/campaigns/{campaign.pk}/status/"
        requests = [CampaignStatus.PAUSED, CampaignStatus.ARCHIVED] * 4
        clients = [client_with_key(owner) for _ in requests]

        responses = run_together(
            [
                lambda client=client, status=status: client.post(url, {"status": status}, format="json")
                for client, status in zip(clients, requests, strict=True)
            ]
        )
        final = Campaign.objects.get(pk=campaign.pk).status
        assert final == CampaignStatus.ARCHIVED  # reachable from ACTIVE and PAUSED, and final
        chain = assert_follows_transitions(
            CampaignStatus.ACTIVE, list(zip(requests, responses, strict=True)), CAMPAIGN_TRANSITIONS, final
        )
        assert chain.count(CampaignStatus.ARCHIVED) >= 1
        assert CampaignStatus.PAUSED not in chain[chain.index(CampaignStatus.ARCHIVED) :]

    def test_a_random_walk_of_concurrent_changes_follows_the_allowed_transitions(self):
        owner = UserFactory()
        asset = AssetFactory(user=owner, status=AssetStatus.PENDING)
        url = f"/api/v1/assets/{asset.pk}/status/"
        generator = random.Random(20261125)
        plans = [[generator.choice(AssetStatus.values) for _ in range(6)] for _ in range(6)]
        clients = [client_with_key(owner) for _ in plans]

        def walk(client, plan):
            return [(status, client.post(url, {"status": status}, format="json")) for status in plan]

        results = run_together(
            [lambda client=client, plan=plan: walk(client, plan) for client, plan in zip(clients, plans, strict=True)]
        )
        outcomes = [outcome for result in results for outcome in result]
        assert len(outcomes) == 36
        assert {response.status_code for _, response in outcomes} <= {200, 400}
        chain = assert_follows_transitions(
            AssetStatus.PENDING, outcomes, ASSET_TRANSITIONS, Asset.objects.get(pk=asset.pk).status
        )
        assert len(chain) > 2, "no change was accepted: the walk tested nothing"
