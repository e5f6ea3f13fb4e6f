"""The admin and the API make the same change the same way: both go through ``campaigns.services``."""

from decimal import Decimal

import pytest

from campaigns.choices import CampaignObjective
from campaigns.factories import CampaignFactory, ExperimentFactory
from gateway.tests.write_paths import change_in_admin, change_in_api, columns_of

pytestmark = pytest.mark.django_db

API = "/api/v1"


def twin_campaigns(user):
    fields = {"user": user, "name": "Spring launch", "description": "", "objective": CampaignObjective.CONVERSIONS}
    return CampaignFactory(**fields), CampaignFactory(**fields)


def test_a_campaign_changed_in_the_admin_and_the_api_is_the_same_row(admin_client, admin_client_api, user):
    in_admin, in_api = twin_campaigns(user)
    start, end = in_admin.start_date, in_admin.end_date
    in_api.start_date, in_api.end_date = start, end
    in_api.save(update_fields=["start_date", "end_date"])
    change_in_admin(admin_client, in_admin, {"name": "Summer launch", "daily_budget": "250.00"})
    change_in_api(
        admin_client_api, f"{API}/campaigns/{in_api.pk}/", {"name": "Summer launch", "daily_budget": "250.00"}
    )
    assert columns_of(in_admin) == columns_of(in_api)
    assert columns_of(in_api)["daily_budget"] == Decimal("250.00")


def test_an_experiment_changed_in_the_admin_and_the_api_is_the_same_row(admin_client, admin_client_api, user):
    campaign = CampaignFactory(user=user)
    fields = {"campaign": campaign, "name": "Hook test", "description": "Hooks."}
    in_admin, in_api = ExperimentFactory(**fields), ExperimentFactory(**fields)
    change_in_admin(admin_client, in_admin, {"name": "Hook test, round 2", "description": "Faces win."})
    change_in_api(
        admin_client_api,
        f"{API}/experiments/{in_api.pk}/",
        {"name": "Hook test, round 2", "description": "Faces win."},
    )
    assert columns_of(in_admin) == columns_of(in_api)
    assert columns_of(in_api)["description"] == "Faces win."
