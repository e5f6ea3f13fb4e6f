from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.choices import CampaignStatus, ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion
from campaigns.services import (
    campaign_change_status,
    campaign_update_metrics,
    conversions_ingest,
    experiment_select_winner,
)
from gateway.tests.model_helpers import run_in_threads

pytestmark = pytest.mark.django_db


class TestCampaignUpdateMetrics:
    def test_sets_totals(self):
        campaign = CampaignFactory(total_clicks=5)
        campaign_update_metrics(campaign=campaign, clicks=10, spend=Decimal("12.50"))
        campaign.refresh_from_db()
        assert campaign.total_clicks == 10
        assert campaign.total_spend == Decimal("12.50")

    def test_increment_adds_to_totals(self):
        campaign = CampaignFactory(total_clicks=5, total_spend=Decimal("1.00"))
        campaign_update_metrics(campaign=campaign, increment=True, clicks=10, spend=Decimal("2.25"))
        campaign.refresh_from_db()
        assert campaign.total_clicks == 15
        assert campaign.total_spend == Decimal("3.25")

    def test_answers_with_the_totals_the_database_holds_without_reading_them_again(self):
        campaign = CampaignFactory(total_clicks=5)
        Campaign.objects.filter(pk=campaign.pk).update(total_clicks=7)  # another writer: the object is stale
        with CaptureQueriesContext(connection) as captured:
            answer = campaign_update_metrics(campaign=campaign, increment=True, clicks=10)
        assert answer is campaign
        assert campaign.total_clicks == 17
        assert campaign.updated_at == Campaign.objects.get(pk=campaign.pk).updated_at
        assert [
            query["sql"].split(None, 1)[0] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]
        ] == ["UPDATE"]

    def test_a_campaign_deleted_meanwhile_is_not_found(self):
        campaign = CampaignFactory(total_clicks=5)
        Campaign.all_objects.filter(pk=campaign.pk).delete()
        with pytest.raises(Campaign.DoesNotExist):
            campaign_update_metrics(campaign=campaign, clicks=10)
        assert campaign.total_clicks == 5

    def test_rejects_negative_values(self):
        campaign = CampaignFactory(total_clicks=5)
        with pytest.raises(ValidationError) as error:
            campaign_update_metrics(campaign=campaign, increment=True, clicks=-1)
        assert "clicks" in error.value.message_dict
        campaign.refresh_from_db()
        assert campaign.total_clicks == 5

    def test_rejects_empty_update(self):
        with pytest.raises(ValidationError):
            campaign_update_metrics(campaign=CampaignFactory())


class TestCampaignChangeStatus:
    def test_allowed_transition(self):
        campaign = campaign_change_status(campaign=CampaignFactory(status=CampaignStatus.ACTIVE), status="PAUSED")
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED

    def test_archived_is_final(self):
        campaign = CampaignFactory(status=CampaignStatus.ARCHIVED)
        with pytest.raises(ValidationError) as error:
            campaign_change_status(campaign=campaign, status=CampaignStatus.ACTIVE)
        assert "ARCHIVED" in str(error.value.message_dict["status"])


class TestExperimentSelectWinner:
    def test_completes_experiment_with_winner(self):
        experiment = experiment_select_winner(experiment=ExperimentFactory(), variant_id="variant-b", confidence=0.97)
        experiment.refresh_from_db()
        assert experiment.winner_variant_id == "variant-b"
        assert experiment.status == ExperimentStatus.COMPLETED
        assert experiment.winner_selected_at is not None
        assert experiment.confidence == 0.97

    def test_rejects_unknown_variant(self):
        experiment = ExperimentFactory()
        with pytest.raises(ValidationError) as error:
            experiment_select_winner(experiment=experiment, variant_id="variant-z")
        assert "variant-a" in str(error.value.message_dict["variant_id"])
        experiment.refresh_from_db()
        assert experiment.winner_variant_id is None

    def test_rejects_a_second_different_winner(self):
        experiment = ExperimentFactory()
        experiment_select_winner(experiment=experiment, variant_id="variant-a")
        with pytest.raises(ValidationError):
            experiment_select_winner(experiment=experiment, variant_id="variant-b")
        experiment.refresh_from_db()
        assert experiment.winner_variant_id == "variant-a"


class TestConversionsIngest:
    def test_reports_created_and_duplicates(self):
        campaign = CampaignFactory()
        ConversionFactory(external_id="seen-before")
        batch = [
            {"campaign": campaign, "external_id": "new-1", "value": Decimal("10.00")},
            {"campaign": campaign, "external_id": "seen-before", "value": Decimal("10.00")},
            {"campaign": campaign, "external_id": "new-1", "value": Decimal("10.00")},
            {"campaign": campaign, "external_id": None, "value": Decimal("5.00")},
        ]
        result = conversions_ingest(conversions=batch)
        assert (result["created"], result["duplicates"]) == (2, 2)
        assert Conversion.objects.filter(external_id="new-1").count() == 1
        assert Conversion.objects.filter(campaign=campaign).count() == 2

    def test_defaults_fill_what_an_item_leaves_out(self):
        result = conversions_ingest(conversions=[{"external_id": "bare"}])
        conversion = Conversion.objects.get(pk=result["created_ids"][0])
        assert (conversion.source, conversion.value, conversion.currency, conversion.metadata) == (
            "META",
            Decimal("0.00"),
            "USD",
            {},
        )
        assert conversion.created_at == conversion.updated_at == conversion.timestamp

    def test_metadata_orjson_cannot_encode_is_stored(self):
        conversions_ingest(conversions=[{"external_id": "big", "metadata": {"n": 2**70, 1: "int key"}}])
        assert Conversion.objects.get(external_id="big").metadata == {"n": 2**70, "1": "int key"}

    def test_repeated_delivery_creates_nothing(self):
        batch = [{"external_id": "delivery-1", "value": Decimal("1.00")}]
        conversions_ingest(conversions=batch)
        result = conversions_ingest(conversions=batch)
        assert result["created"] == 0
        assert Conversion.objects.filter(external_id="delivery-1").count() == 1


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def test_concurrent_increments_sum_exactly(self):
        campaign = CampaignFactory(total_clicks=0, total_impressions=0)

        def add():
            for _ in range(10):
                campaign_update_metrics(campaign=Campaign.objects.get(pk=campaign.pk), increment=True, clicks=1)

        errors = run_in_threads(add, 8)
        assert errors == []
        campaign.refresh_from_db()
        assert campaign.total_clicks == 80

    def test_concurrent_duplicate_ingests_create_one_row(self):
        batch = [{"external_id": "race-1", "value": Decimal("3.00")}]
        results = []

        def ingest():
            results.append(conversions_ingest(conversions=batch))

        errors = run_in_threads(ingest, 6)
        assert errors == []
        assert Conversion.objects.filter(external_id="race-1").count() == 1
        assert sum(result["created"] for result in results) == 1
