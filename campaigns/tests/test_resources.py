"""Importing campaigns and conversions in the staff console (campaigns/resources.py), through the API's rules."""

import pytest

from campaigns.choices import CampaignStatus
from campaigns.factories import CampaignFactory, ConversionFactory
from campaigns.models import Campaign, Conversion
from gateway.tests.admin_helpers import messages_of
from gateway.tests.transfer_helpers import confirm, csv_file, upload

pytestmark = pytest.mark.django_db


class TestImportCampaigns:
    def test_rows_update_and_create_through_the_api_serializer(self, admin_client, admin_user):
        campaign = CampaignFactory(name="Spring", budget="100.00", daily_budget=None, status=CampaignStatus.DRAFT)
        header = ["id", "name", "budget", "daily_budget", "status", "start_date", "end_date"]
        file = csv_file([
            header,
            [campaign.pk, "Spring sale", "250.50", "", "ACTIVE", "2026-03-01", "2026-03-31"],
            ["", "Summer", "90", "10", "", "", ""],
        ])  # fmt: skip
        response = confirm(admin_client, Campaign, upload(admin_client, Campaign, file))
        assert "1 new, 1 updated" in " ".join(messages_of(response))
        campaign.refresh_from_db()
        assert (campaign.name, str(campaign.budget), campaign.status) == ("Spring sale", "250.50", "ACTIVE")
        created = Campaign.objects.get(name="Summer")
        assert (created.user, created.status, str(created.daily_budget)) == (admin_user, "DRAFT", "10.00")

    def test_the_api_rules_refuse_rows(self, admin_client):
        archived = CampaignFactory(status=CampaignStatus.ARCHIVED)
        file = csv_file([
            ["id", "name", "budget", "daily_budget", "status", "currency"],
            [archived.pk, archived.name, "100", "", "ACTIVE", "USD"],
            ["", "Too much", "10", "20", "", "USD"],
            ["", "Bad money", "ten", "", "", "XXXX"],
        ])  # fmt: skip
        response = upload(admin_client, Campaign, file)
        invalid = {row.number + 1: row.error_dict for row in response.context["result"].invalid_rows}
        assert "status" in invalid[2]
        assert invalid[3]["daily_budget"] == ["Must not exceed the budget."]
        assert "“ten” is not a valid number." in invalid[4]["budget"]
        assert not Campaign.objects.filter(name__in=["Too much", "Bad money"]).exists()


class TestImportConversions:
    def test_new_conversions_are_ingested_and_stored_ones_are_duplicates(self, admin_client):
        campaign = CampaignFactory()
        stored = ConversionFactory(external_id="meta-1", campaign=campaign)
        file = csv_file([
            ["campaign", "source", "external_id", "value", "currency", "timestamp"],
            [campaign.pk, "META", "meta-1", "5.00", "USD", "2026-11-30 10:00:00"],
            [campaign.pk, "META", "meta-2", "7.50", "USD", "2026-11-30 11:00:00"],
            [campaign.pk, "MANUAL", "", "1.00", "EUR", "2026-11-30 12:00:00"],
            [campaign.pk, "META", "meta-2", "7.50", "USD", "2026-11-30 11:00:00"],
        ])  # fmt: skip
        dry = upload(admin_client, Conversion, file)
        assert [row.import_type for row in dry.context["result"].rows] == ["skip", "new", "new", "skip"]
        response = confirm(admin_client, Conversion, dry)
        assert "2 new, 0 updated, 0 deleted and 2 skipped" in " ".join(messages_of(response))
        assert Conversion.objects.filter(campaign=campaign).count() == 3
        assert Conversion.objects.get(external_id="meta-2").timestamp.hour == 11
        assert Conversion.objects.get(pk=stored.pk).value == stored.value

    def test_an_unknown_campaign_is_the_rows_error(self, admin_client):
        file = csv_file([["campaign", "external_id", "value"], ["0f0f0f0f-0000-4000-8000-000000000000", "x-1", "1"]])
        response = upload(admin_client, Conversion, file)
        (row,) = response.context["result"].invalid_rows
        assert row.error_dict["campaign"] == [
            "No campaign with id 0f0f0f0f-0000-4000-8000-000000000000 exists or you may not use it."
        ]
