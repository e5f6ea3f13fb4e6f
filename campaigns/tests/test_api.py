"""The campaign endpoints: campaigns, experiments, conversions and their operations.

The CRUD, scoping and soft-delete tests every resource shares come from ``gateway/tests/resource_cases.py``;
what follows each resource's declaration is what only that resource does.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.choices import CampaignStatus, ConversionSource, ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory, default_variants
from campaigns.models import Campaign, Conversion, Experiment
from gateway.tests.api_helpers import assert_exact_and_in, client_for, error_body, ids
from gateway.tests.model_helpers import run_in_threads
from gateway.tests.resource_cases import ChildResourceCases, OwnedSoftResourceCases, SoftChildResourceCases, names_in
from media.factories import AssetFactory, ClipFactory
from users.factories import UserFactory

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/v1/campaigns/"
EXPERIMENTS = "/api/v1/experiments/"
CONVERSIONS = "/api/v1/conversions/"
INGEST = "/api/v1/conversions/ingest/"


def url(base, obj, action=None):
    return f"{base}{obj.pk}/" + (f"{action}/" if action else "")


def campaign_payload(**overrides):
    return {
        "name": "Spring launch",
        "description": "Launch of the spring line",
        "objective": "SALES",
        "budget": "1000.00",
        "daily_budget": "50.00",
        "currency": "EUR",
        "meta_campaign_id": "meta-123",
        "target_audience": {"interests": ["running"]},
        "target_locations": ["DE", "FR"],
        "target_age_range": {"min": 18, "max": 45},
        "start_date": "2025-03-01T00:00:00Z",
        "end_date": "2025-03-31T00:00:00Z",
        **overrides,
    }


class TestCampaigns(OwnedSoftResourceCases):
    url = CAMPAIGNS
    model = Campaign
    factory = CampaignFactory
    owner = "user"
    payload = staticmethod(campaign_payload)
    update_changes = {"name": "Renamed"}
    created = {"status": "DRAFT", "total_spend": "0.00", "total_impressions": 0}
    partial_payload = {"description": "New text"}
    scoped_actions = [("metrics", {"clicks": 1}), ("status", {"status": "PAUSED"})]
    invalid_values = [
        ("budget", "-1.00"),
        ("budget", "123456789.00"),
        ("daily_budget", "-0.01"),
        ("currency", "usd"),
        ("currency", "US"),
        ("currency", "USDX"),
        ("objective", "FAME"),
        ("status", "LOST"),
        ("target_audience", ["not", "an", "object"]),
        ("target_locations", {"not": "a list"}),
        ("target_age_range", "18-45"),
        ("metadata", 5),
        ("name", ""),
        ("start_date", "tomorrow"),
    ]
    required_fields = ["name", "budget"]
    detail_max_queries = 5

    def embed(self, row, count):
        ExperimentFactory.create_batch(count, campaign=row)
        for index in range(count):
            ConversionFactory(campaign=row, currency=["USD", "EUR", "GBP"][index % 3])

    def assert_embedded(self, data, count):
        assert len(data["experiments"]) == count
        assert sum(total["count"] for total in data["conversion_totals"]) == count

    def test_retrieve_embeds_user_experiments_and_conversion_totals(self, user, user_client):
        campaign = CampaignFactory(user=user)
        experiment = ExperimentFactory(campaign=campaign)
        ExperimentFactory(campaign=campaign).soft_delete()
        ConversionFactory(campaign=campaign, value=Decimal("10.00"), currency="USD")
        ConversionFactory(campaign=campaign, value=Decimal("5.50"), currency="USD")
        last = ConversionFactory(campaign=campaign, value=Decimal("7.00"), currency="EUR")
        ConversionFactory(value=Decimal("99.00"))
        data = user_client.get(self.detail(campaign)).json()
        assert data["user"] == str(user.pk)
        assert data["user_summary"] == {"id": str(user.pk), "email": user.email, "name": user.name}
        assert [row["id"] for row in data["experiments"]] == [str(experiment.pk)]
        assert data["conversion_totals"][0] == {
            "currency": "EUR",
            "count": 1,
            "value": "7.00",
            "last_timestamp": last.timestamp.isoformat().replace("+00:00", "Z"),
        }
        assert {key: data["conversion_totals"][1][key] for key in ("currency", "count", "value")} == {
            "currency": "USD",
            "count": 2,
            "value": "15.50",
        }

    def test_defaults(self, user_client):
        data = user_client.post(CAMPAIGNS, {"name": "Minimal", "budget": "10"}).json()
        assert (data["objective"], data["currency"], data["target_locations"]) == ("CONVERSIONS", "USD", [])

    def test_totals_are_read_only(self, user_client):
        data = user_client.post(CAMPAIGNS, campaign_payload(total_spend="99.00", total_clicks=5)).json()
        assert (data["total_spend"], data["total_clicks"]) == ("0.00", 0)

    def test_status_in_an_update_follows_the_transitions(self, user, user_client):
        campaign = CampaignFactory(user=user, status=CampaignStatus.ARCHIVED)
        response = user_client.patch(self.detail(campaign), {"status": "ACTIVE", "name": "Changed"})
        assert response.status_code == 400
        assert "status" in response.json()
        assert Campaign.objects.get(pk=campaign.pk).name != "Changed"

    def test_delete_hides_the_experiments(self, user, user_client):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        assert user_client.delete(self.detail(experiment.campaign)).status_code == 204
        assert Experiment.all_objects.get(pk=experiment.pk).deleted_at is not None
        assert user_client.get(url(EXPERIMENTS, experiment)).status_code == 404

    def test_admin_hard_delete_keeps_conversions_without_campaign(self, admin_client_api):
        conversion = ConversionFactory()
        assert admin_client_api.delete(self.detail(conversion.campaign) + "?hard=1").status_code == 204
        conversion.refresh_from_db()
        assert conversion.campaign is None

    def test_restore_brings_back_the_experiments(self, admin_client_api):
        experiment = ExperimentFactory()
        experiment.campaign.soft_delete()
        assert admin_client_api.post(self.detail(experiment.campaign, "restore")).status_code == 200
        assert Experiment.objects.filter(pk=experiment.pk).exists()


class TestCampaignValidation:
    def test_daily_budget_must_not_exceed_the_budget(self, user_client):
        response = user_client.post(CAMPAIGNS, campaign_payload(budget="100.00", daily_budget="100.01"))
        assert response.status_code == 400
        assert error_body(response) == {"daily_budget": ["Must not exceed the budget."]}

    def test_daily_budget_equal_to_the_budget_is_fine(self, user_client):
        assert user_client.post(CAMPAIGNS, campaign_payload(budget="100.00", daily_budget="100.00")).status_code == 201

    def test_lowering_the_budget_below_the_stored_daily_budget_is_400(self, user, user_client):
        campaign = CampaignFactory(user=user, budget=Decimal("500"), daily_budget=Decimal("100"))
        response = user_client.patch(url(CAMPAIGNS, campaign), {"budget": "50.00"})
        assert response.status_code == 400
        assert "daily_budget" in response.json()

    def test_end_date_must_not_be_before_start_date(self, user_client):
        response = user_client.post(
            CAMPAIGNS, campaign_payload(start_date="2025-03-10T00:00:00Z", end_date="2025-03-09T00:00:00Z")
        )
        assert response.status_code == 400
        assert error_body(response) == {"end_date": ["Must not be before start_date."]}

    def test_partial_update_checks_dates_against_the_stored_ones(self, user, user_client):
        campaign = CampaignFactory(user=user)
        response = user_client.patch(url(CAMPAIGNS, campaign), {"end_date": "2000-01-01T00:00:00Z"})
        assert response.status_code == 400
        assert "end_date" in response.json()

    def test_meta_campaign_id_is_unique(self, user_client):
        CampaignFactory(meta_campaign_id="meta-123").soft_delete()
        response = user_client.post(CAMPAIGNS, campaign_payload())
        assert response.status_code == 400
        assert error_body(response) == {"meta_campaign_id": ["A campaign with this meta_campaign_id already exists."]}

    def test_many_campaigns_may_have_no_meta_campaign_id(self, user_client):
        CampaignFactory(meta_campaign_id=None)
        assert user_client.post(CAMPAIGNS, campaign_payload(meta_campaign_id=None)).status_code == 201


class TestCampaignFilters:
    def test_user_and_user_in(self, admin_client_api):
        first, second, third = CampaignFactory(), CampaignFactory(), CampaignFactory()
        assert ids(admin_client_api.get(CAMPAIGNS, {"user": str(first.user_id)})) == {str(first.pk)}
        both = f"{first.user_id},{second.user_id}"
        assert ids(admin_client_api.get(CAMPAIGNS, {"user__in": both})) == {str(first.pk), str(second.pk)}
        assert str(third.pk) not in ids(admin_client_api.get(CAMPAIGNS, {"user__in": both}))

    def test_status_and_status_in(self, user, user_client):
        statuses = [CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.DRAFT]
        assert_exact_and_in(
            user_client, CAMPAIGNS, "status", statuses, lambda status: CampaignFactory(user=user, status=status)
        )

    def test_meta_campaign_id_and_in(self, user, user_client):
        assert_exact_and_in(
            user_client,
            CAMPAIGNS,
            "meta_campaign_id",
            ["m-1", "m-2", "m-3"],
            lambda meta_id: CampaignFactory(user=user, meta_campaign_id=meta_id),
        )

    def test_start_and_end_date_ranges(self, user, user_client):
        day = datetime.datetime(2025, 5, 1, tzinfo=datetime.UTC)
        early = CampaignFactory(user=user, start_date=day, end_date=day + datetime.timedelta(days=10))
        late = CampaignFactory(
            user=user, start_date=day + datetime.timedelta(days=20), end_date=day + datetime.timedelta(days=40)
        )
        middle = (day + datetime.timedelta(days=15)).isoformat()
        assert ids(user_client.get(CAMPAIGNS, {"start_date_after": middle})) == {str(late.pk)}
        assert ids(user_client.get(CAMPAIGNS, {"start_date_before": middle})) == {str(early.pk)}
        assert ids(user_client.get(CAMPAIGNS, {"end_date_after": middle})) == {str(late.pk)}
        assert ids(user_client.get(CAMPAIGNS, {"end_date_before": middle})) == {str(early.pk)}

    def test_search(self, user, user_client):
        campaign = CampaignFactory(user=user, name="Black Friday blast")
        CampaignFactory(user=user, name="Spring")
        assert ids(user_client.get(CAMPAIGNS, {"search": "friday"})) == {str(campaign.pk)}

    def test_ordering(self, user, user_client):
        small = CampaignFactory(user=user, budget=Decimal("10"), daily_budget=None)
        big = CampaignFactory(user=user, budget=Decimal("900"), daily_budget=None)
        rows = user_client.get(CAMPAIGNS, {"ordering": "-budget"}).json()["results"]
        assert [row["id"] for row in rows] == [str(big.pk), str(small.pk)]


class TestCampaignMetrics:
    def test_sets_totals(self, user, user_client):
        campaign = CampaignFactory(user=user, total_clicks=5)
        response = user_client.post(
            url(CAMPAIGNS, campaign, "metrics"), {"spend": "120.50", "impressions": 1000, "clicks": 40}
        )
        assert response.status_code == 200
        data = response.json()
        assert (data["total_spend"], data["total_impressions"], data["total_clicks"]) == ("120.50", 1000, 40)

    def test_increment_adds_to_totals(self, user, user_client):
        campaign = CampaignFactory(user=user, total_clicks=5, total_spend=Decimal("1.00"))
        response = user_client.post(
            url(CAMPAIGNS, campaign, "metrics"), {"clicks": 3, "spend": "2.25", "conversions": 1, "increment": True}
        )
        data = response.json()
        assert (data["total_clicks"], data["total_spend"], data["total_conversions"]) == (8, "3.25", 1)

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({}, "non_field_errors"),
            ({"increment": True}, "non_field_errors"),
            ({"clicks": -1}, "clicks"),
            ({"spend": "-0.01"}, "spend"),
            ({"spend": "1.001"}, "spend"),
            ({"impressions": "many"}, "impressions"),
            ({"clicks": 1, "increment": "sometimes"}, "increment"),
        ],
    )
    def test_invalid_input_is_400(self, user, user_client, payload, field):
        campaign = CampaignFactory(user=user)
        response = user_client.post(url(CAMPAIGNS, campaign, "metrics"), payload)
        assert response.status_code == 400
        assert field in response.json()

    def test_overflowing_total_is_400(self, user, user_client):
        campaign = CampaignFactory(user=user, total_spend=Decimal("99999999.00"))
        response = user_client.post(url(CAMPAIGNS, campaign, "metrics"), {"spend": "10.00", "increment": True})
        assert response.status_code == 400
        assert "spend" in response.json()
        assert Campaign.objects.get(pk=campaign.pk).total_spend == Decimal("99999999.00")


class TestCampaignStatusAction:
    def test_changes_status(self, user, user_client):
        campaign = CampaignFactory(user=user, status=CampaignStatus.ACTIVE)
        response = user_client.post(url(CAMPAIGNS, campaign, "status"), {"status": "PAUSED"})
        assert response.status_code == 200
        assert response.json()["status"] == "PAUSED"

    def test_archived_is_final(self, user, user_client):
        campaign = CampaignFactory(user=user, status=CampaignStatus.ARCHIVED)
        response = user_client.post(url(CAMPAIGNS, campaign, "status"), {"status": "ACTIVE"})
        assert response.status_code == 400
        assert "ARCHIVED" in response.json()["status"][0]

    def test_unknown_status_is_400(self, user, user_client):
        campaign = CampaignFactory(user=user)
        assert "status" in user_client.post(url(CAMPAIGNS, campaign, "status"), {"status": "LOST"}).json()


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def test_concurrent_increments_sum_exactly(self):
        owner = UserFactory()
        campaign = CampaignFactory(user=owner, total_clicks=0, total_spend=Decimal("0"))
        clients = [client_for(owner) for _ in range(6)]
        statuses = []

        def worker():
            client = clients.pop()
            for _ in range(5):
                response = client.post(
                    url(CAMPAIGNS, campaign, "metrics"), {"clicks": 1, "spend": "0.10", "increment": True}
                )
                statuses.append(response.status_code)

        assert run_in_threads(worker, 6) == []
        assert statuses == [200] * 30
        campaign.refresh_from_db()
        assert (campaign.total_clicks, campaign.total_spend) == (30, Decimal("3.00"))

    def test_concurrent_duplicate_ingests_create_one_row(self):
        owner = UserFactory()
        campaign = CampaignFactory(user=owner)
        clients = [client_for(owner) for _ in range(6)]
        results = []
        batch = {"conversions": [{"campaign": str(campaign.pk), "external_id": "race-1", "value": "3.00"}]}

        def worker():
            results.append(clients.pop().post(INGEST, batch).json())

        assert run_in_threads(worker, 6) == []
        assert Conversion.objects.filter(external_id="race-1").count() == 1
        assert sum(result["created"] for result in results) == 1
        assert sum(result["duplicates"] for result in results) == 5


def experiment_payload(campaign, **overrides):
    return {"campaign": str(campaign.pk), "name": "Hook test", "variants": default_variants(), **overrides}


class TestExperiments(SoftChildResourceCases):
    url = EXPERIMENTS
    model = Experiment
    factory = ExperimentFactory
    owner = "campaign__user"
    parent = "campaign"
    parent_factory = CampaignFactory
    payload = staticmethod(experiment_payload)
    update_changes = {"name": "Renamed", "status": "PAUSED"}
    created = {"status": "DRAFT", "winner_variant_id": None}
    partial_payload = {"confidence": 0.5}
    scoped_actions = [("select-winner", {"variant_id": "variant-a"})]
    invalid_values = [("confidence", 1.5), ("confidence", -0.5), ("status", "LOST"), ("metrics", [1])]
    detail_max_queries = 3

    def retrieved(self, row):
        return {"id": str(row.pk), "campaign": str(row.campaign_id), "variants": default_variants()}

    def test_auto_apply_is_off_by_default_and_writable(self, user, user_client):
        created = user_client.post(EXPERIMENTS, self.create_payload(user)).json()
        assert created["auto_apply"] is False
        experiment = Experiment.objects.get(pk=created["id"])
        response = user_client.patch(self.detail(experiment), {"auto_apply": True})
        assert response.json()["auto_apply"] is True
        experiment.refresh_from_db()
        assert experiment.auto_apply is True

    def test_winner_is_not_writable(self, user, user_client):
        payload = self.create_payload(user, winner_variant_id="variant-a")
        assert user_client.post(EXPERIMENTS, payload).json()["winner_variant_id"] is None

    def test_variants_must_keep_the_winner(self, user, user_client):
        experiment = self.make(user, winner_variant_id="variant-a")
        response = user_client.patch(self.detail(experiment), {"variants": [{"id": "variant-c", "name": "C"}]})
        assert response.status_code == 400
        assert "variants" in response.json()

    @pytest.mark.parametrize(
        "variants",
        [
            {"id": "a"},
            [{"id": "a", "name": "A"}, {"id": "a", "name": "A again"}],
            [{"name": "no id"}],
            [{"id": "a"}],
            ["a"],
            [{"id": 5, "name": "numeric id"}],
        ],
    )
    def test_bad_variants_are_400(self, user, user_client, variants):
        response = user_client.post(EXPERIMENTS, self.create_payload(user, variants=variants))
        assert response.status_code == 400
        assert "variants" in response.json()

    def test_end_date_must_not_be_before_start_date(self, user, user_client):
        payload = self.create_payload(user, start_date="2025-02-02T00:00:00Z", end_date="2025-02-01T00:00:00Z")
        response = user_client.post(EXPERIMENTS, payload)
        assert response.status_code == 400
        assert "end_date" in response.json()


class TestExperimentFilters:
    def test_campaign_and_campaign_in(self, user, user_client):
        first, second = CampaignFactory(user=user), CampaignFactory(user=user)
        a, b = ExperimentFactory(campaign=first), ExperimentFactory(campaign=second)
        ExperimentFactory(campaign=CampaignFactory(user=user))
        assert ids(user_client.get(EXPERIMENTS, {"campaign": str(first.pk)})) == {str(a.pk)}
        assert ids(user_client.get(EXPERIMENTS, {"campaign__in": f"{first.pk},{second.pk}"})) == {str(a.pk), str(b.pk)}

    def test_status_and_status_in(self, user, user_client):
        campaign = CampaignFactory(user=user)
        statuses = [ExperimentStatus.RUNNING, ExperimentStatus.PAUSED, ExperimentStatus.DRAFT]
        assert_exact_and_in(
            user_client,
            EXPERIMENTS,
            "status",
            statuses,
            lambda status: ExperimentFactory(campaign=campaign, status=status),
        )

    def test_ordering_by_name(self, user, user_client):
        campaign = CampaignFactory(user=user)
        b, a = ExperimentFactory(campaign=campaign, name="B"), ExperimentFactory(campaign=campaign, name="A")
        rows = user_client.get(EXPERIMENTS, {"ordering": "name"}).json()["results"]
        assert [row["id"] for row in rows] == [str(a.pk), str(b.pk)]


class TestSelectWinner:
    def test_completes_the_experiment(self, user, user_client):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        response = user_client.post(
            url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-b", "confidence": 0.97}
        )
        assert response.status_code == 200
        data = response.json()
        assert (data["winner_variant_id"], data["status"], data["confidence"]) == ("variant-b", "COMPLETED", 0.97)
        assert data["winner_selected_at"] is not None

    def test_selecting_the_same_winner_again_is_fine(self, user, user_client):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        user_client.post(url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-a"})
        response = user_client.post(url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-a"})
        assert response.status_code == 200

    def test_unknown_variant_is_400_listing_the_variants(self, user, user_client):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        response = user_client.post(url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-z"})
        assert response.status_code == 400
        assert "variant-a" in response.json()["variant_id"][0]

    def test_a_second_different_winner_is_400(self, user, user_client):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        user_client.post(url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-a"})
        response = user_client.post(url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-b"})
        assert response.status_code == 400
        assert Experiment.objects.get(pk=experiment.pk).winner_variant_id == "variant-a"

    def test_cancelled_experiment_is_400(self, user, user_client):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user), status=ExperimentStatus.CANCELLED)
        response = user_client.post(url(EXPERIMENTS, experiment, "select-winner"), {"variant_id": "variant-a"})
        assert response.status_code == 400
        assert "status" in response.json()

    @pytest.mark.parametrize(
        ("payload", "field"),
        [({}, "variant_id"), ({"variant_id": "variant-a", "confidence": 1.1}, "confidence")],
    )
    def test_invalid_input_is_400(self, user, user_client, payload, field):
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user))
        response = user_client.post(url(EXPERIMENTS, experiment, "select-winner"), payload)
        assert response.status_code == 400
        assert field in response.json()


def conversion_payload(campaign, **overrides):
    return {
        "campaign": str(campaign.pk),
        "source": "GOOGLE",
        "external_id": "g-1",
        "value": "19.99",
        "currency": "USD",
        "timestamp": "2025-03-05T10:00:00Z",
        "metadata": {"order": "A-1"},
        **overrides,
    }


class TestConversions(ChildResourceCases):
    url = CONVERSIONS
    model = Conversion
    factory = ConversionFactory
    owner = "campaign__user"
    parent = "campaign"
    parent_factory = CampaignFactory
    payload = staticmethod(conversion_payload)
    update_changes = {"value": "5.00"}
    partial_payload = {"attributed_ad_id": "ad-7"}
    invalid_values = [
        ("value", "-1.00"),
        ("value", "123456789.00"),
        ("currency", "eur"),
        ("source", "FAX"),
        ("timestamp", "later"),
        ("metadata", "text"),
        ("external_id", ""),
    ]
    detail_max_queries = 3

    def retrieved(self, row):
        return {"id": str(row.pk), "value": "49.90"}

    def test_list_shows_conversions_newest_first(self, user, user_client):
        campaign = CampaignFactory(user=user)
        old = ConversionFactory(campaign=campaign, timestamp=timezone.now() - datetime.timedelta(days=1))
        new = ConversionFactory(campaign=campaign)
        ConversionFactory(campaign=None)
        rows = user_client.get(CONVERSIONS).json()["results"]
        assert [row["id"] for row in rows] == [str(new.pk), str(old.pk)]

    def test_admin_sees_conversions_without_campaign(self, admin_client_api):
        orphan = ConversionFactory(campaign=None)
        assert str(orphan.pk) in ids(admin_client_api.get(CONVERSIONS))

    def test_create_attributes_a_clip(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user))
        response = user_client.post(CONVERSIONS, self.create_payload(user, attributed_clip=str(clip.pk)))
        assert response.status_code == 201
        conversion = Conversion.objects.get(pk=response.json()["id"])
        assert (conversion.source, conversion.attributed_clip, conversion.value) == (
            ConversionSource.GOOGLE,
            clip,
            Decimal("19.99"),
        )

    def test_user_must_name_a_campaign(self, user_client):
        response = user_client.post(CONVERSIONS, {"value": "1.00"})
        assert response.status_code == 400
        assert error_body(response) == {"campaign": ["This field is required."]}

    def test_admin_may_create_a_conversion_without_campaign(self, admin_client_api):
        assert admin_client_api.post(CONVERSIONS, {"value": "1.00"}).status_code == 201

    def test_cannot_attribute_someone_elses_clip(self, user, user_client):
        response = user_client.post(CONVERSIONS, self.create_payload(user, attributed_clip=str(ClipFactory().pk)))
        assert response.status_code == 400
        assert "attributed_clip" in response.json()

    def test_update_keeps_its_own_external_id(self, user, user_client):
        conversion = self.make(user, external_id="g-1")
        assert user_client.put(self.detail(conversion), self.update_payload(conversion)).status_code == 200

    def test_user_cannot_detach_a_conversion_from_its_campaign(self, user, user_client):
        conversion = self.make(user)
        response = user_client.patch(self.detail(conversion), {"campaign": None})
        assert response.status_code == 400
        assert "campaign" in response.json()

    def test_duplicate_external_id_is_400(self, user, user_client):
        ConversionFactory(external_id="g-1")
        response = user_client.post(CONVERSIONS, self.create_payload(user))
        assert response.status_code == 400
        assert error_body(response) == {"external_id": ["A conversion with this external_id already exists."]}


class TestConversionFilters:
    @pytest.fixture
    def conversions(self, user):
        first, second = CampaignFactory(user=user), CampaignFactory(user=user)
        clip = ClipFactory(asset=AssetFactory(user=user))
        day = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC)
        return {
            "a": ConversionFactory(campaign=first, timestamp=day, external_id="x-a", source="META"),
            "b": ConversionFactory(
                campaign=first,
                timestamp=day + datetime.timedelta(days=5),
                external_id="x-b",
                source="GOOGLE",
                attributed_clip=clip,
            ),
            "c": ConversionFactory(
                campaign=second, timestamp=day + datetime.timedelta(days=10), external_id="x-c", source="TIKTOK"
            ),
        }

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"timestamp_after": "2025-03-03T00:00:00Z"}, {"b", "c"}),
            ({"timestamp_before": "2025-03-07T00:00:00Z"}, {"a", "b"}),
            ({"timestamp_after": "2025-03-03T00:00:00Z", "timestamp_before": "2025-03-07T00:00:00Z"}, {"b"}),
            ({"external_id": "x-c"}, {"c"}),
            ({"external_id__in": "x-a,x-c"}, {"a", "c"}),
            ({"source": "GOOGLE"}, {"b"}),
            ({"source__in": "META,TIKTOK"}, {"a", "c"}),
        ],
    )
    def test_filter(self, conversions, user_client, params, expected):
        assert names_in(conversions, user_client.get(CONVERSIONS, params)) == expected

    def test_campaign_with_a_date_range(self, conversions, user_client):
        params = {"campaign": str(conversions["a"].campaign_id), "timestamp_after": "2025-03-02T00:00:00Z"}
        assert names_in(conversions, user_client.get(CONVERSIONS, params)) == {"b"}

    def test_campaign_in(self, conversions, user_client):
        campaign_ids = f"{conversions['a'].campaign_id},{conversions['c'].campaign_id}"
        assert names_in(conversions, user_client.get(CONVERSIONS, {"campaign__in": campaign_ids})) == {"a", "b", "c"}

    def test_attributed_clip_and_in(self, conversions, user_client):
        clip_id = str(conversions["b"].attributed_clip_id)
        assert names_in(conversions, user_client.get(CONVERSIONS, {"attributed_clip": clip_id})) == {"b"}
        assert names_in(conversions, user_client.get(CONVERSIONS, {"attributed_clip__in": clip_id})) == {"b"}

    def test_ordering_oldest_first(self, conversions, user_client):
        rows = user_client.get(CONVERSIONS, {"ordering": "timestamp"}).json()["results"]
        assert [row["id"] for row in rows] == [str(conversions[name].pk) for name in ("a", "b", "c")]

    def test_bad_timestamp_is_400(self, user_client):
        response = user_client.get(CONVERSIONS, {"timestamp_after": "yesterday"})
        assert response.status_code == 400
        assert "timestamp_after" in response.json()


class TestConversionIngest:
    def test_creates_and_reports_duplicates(self, user, user_client):
        campaign = CampaignFactory(user=user)
        ConversionFactory(campaign=campaign, external_id="seen-before")
        batch = [
            {"campaign": str(campaign.pk), "external_id": "new-1", "value": "10.00"},
            {"campaign": str(campaign.pk), "external_id": "seen-before", "value": "10.00"},
            {"campaign": str(campaign.pk), "external_id": "new-1", "value": "10.00"},
            {"campaign": str(campaign.pk), "value": "5.00", "source": "MANUAL"},
        ]
        response = user_client.post(INGEST, {"conversions": batch})
        assert response.status_code == 200
        assert response.json() == {"created": 2, "duplicates": 2, "errors": []}
        assert Conversion.objects.filter(campaign=campaign).count() == 3

    def test_repeated_delivery_creates_nothing(self, user, user_client):
        campaign = CampaignFactory(user=user)
        batch = {"conversions": [{"campaign": str(campaign.pk), "external_id": "d-1", "value": "1.00"}]}
        user_client.post(INGEST, batch)
        assert user_client.post(INGEST, batch).json() == {"created": 0, "duplicates": 1, "errors": []}

    def test_stores_every_field(self, user, user_client):
        campaign = CampaignFactory(user=user)
        clip = ClipFactory(asset=AssetFactory(user=user))
        item = {
            "campaign": str(campaign.pk),
            "external_id": "full-1",
            "source": "TIKTOK",
            "value": "12.34",
            "currency": "EUR",
            "attributed_clip": str(clip.pk),
            "attributed_ad_id": "ad-1",
            "timestamp": "2025-03-01T12:00:00Z",
            "metadata": {"order": "o-1"},
        }
        user_client.post(INGEST, {"conversions": [item]})
        conversion = Conversion.objects.get(external_id="full-1")
        assert (conversion.source, conversion.value, conversion.currency, conversion.attributed_clip) == (
            ConversionSource.TIKTOK,
            Decimal("12.34"),
            "EUR",
            clip,
        )
        assert conversion.timestamp == datetime.datetime(2025, 3, 1, 12, tzinfo=datetime.UTC)
        assert conversion.metadata == {"order": "o-1"}

    def test_invalid_items_are_reported_by_index_and_valid_ones_ingested(self, user, user_client):
        campaign = CampaignFactory(user=user)
        batch = [
            {"campaign": str(campaign.pk), "external_id": "ok-1", "value": "1.00"},
            {"campaign": str(campaign.pk), "external_id": "bad-1", "value": "-1.00"},
            "not an object",
            {"campaign": str(CampaignFactory().pk), "external_id": "bad-2"},
            {"external_id": "bad-3", "currency": "usd"},
            {"campaign": str(campaign.pk), "external_id": "bad-4", "attributed_clip": str(ClipFactory().pk)},
            {"campaign": str(campaign.pk), "external_id": "ok-2", "value": "2.00"},
        ]
        data = user_client.post(INGEST, {"conversions": batch}).json()
        assert (data["created"], data["duplicates"]) == (2, 0)
        errors = {error["index"]: error["errors"] for error in data["errors"]}
        assert sorted(errors) == [1, 2, 3, 4, 5]
        assert "value" in errors[1]
        assert errors[2] == {"non_field_errors": ["Must be an object."]}
        assert "campaign" in errors[3]
        assert set(errors[4]) == {"currency", "campaign"}
        assert "attributed_clip" in errors[5]
        assert set(Conversion.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2"}

    def test_admin_may_ingest_without_campaign(self, admin_client_api):
        response = admin_client_api.post(INGEST, {"conversions": [{"external_id": "orphan", "value": "1.00"}]})
        assert response.json() == {"created": 1, "duplicates": 0, "errors": []}

    @pytest.mark.parametrize(
        "payload", [{}, {"conversions": []}, {"conversions": "nope"}, {"conversions": {"a": 1}}, []]
    )
    def test_invalid_envelope_is_400(self, user_client, payload):
        response = user_client.post(INGEST, payload)
        assert response.status_code == 400
        assert not Conversion.objects.exists()

    def test_more_than_1000_items_is_400(self, user, user_client):
        campaign = CampaignFactory(user=user)
        batch = [{"campaign": str(campaign.pk), "value": "1.00"}] * 1001
        response = user_client.post(INGEST, {"conversions": batch})
        assert response.status_code == 400
        assert "conversions" in response.json()
        assert not Conversion.objects.exists()

    def test_1000_items_in_a_fixed_number_of_queries(self, user, user_client, django_assert_max_num_queries):
        campaign = CampaignFactory(user=user)
        clip = ClipFactory(asset=AssetFactory(user=user))
        batch = [
            {"campaign": str(campaign.pk), "external_id": f"bulk-{n}", "value": "1.00", "attributed_clip": str(clip.pk)}
            for n in range(1000)
        ]
        with django_assert_max_num_queries(8):
            data = user_client.post(INGEST, {"conversions": batch}).json()
        assert data == {"created": 1000, "duplicates": 0, "errors": []}


def test_an_experiment_keeps_its_campaign_on_update(user, user_client):
    # Set at creation: the schema's update bodies leave it out, and a body sent back with it is read as is.
    experiment = ExperimentFactory(campaign__user=user)
    campaign_id, other = experiment.campaign_id, CampaignFactory(user=user)
    response = user_client.patch(f"{EXPERIMENTS}{experiment.pk}/", {"campaign": str(other.pk), "name": "renamed"})
    assert (response.status_code, response.json()["campaign"]) == (200, str(campaign_id))
    experiment.refresh_from_db()
    assert (experiment.campaign_id, experiment.name) == (campaign_id, "renamed")
