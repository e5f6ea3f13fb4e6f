"""Named reads of campaigns: who may see what, live and deleted rows, key figures, conversion totals."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.choices import ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion, Experiment
from gateway.tests.queryset_cases import VisibleToCases
from users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_owners():
    """Two users, each with a campaign holding an experiment and a conversion."""
    rows = {}
    for name in ("mine", "theirs"):
        owner = UserFactory()
        campaign = CampaignFactory(user=owner)
        rows[name] = {
            "owner": owner,
            Campaign: campaign,
            Experiment: ExperimentFactory(campaign=campaign),
            Conversion: ConversionFactory(campaign=campaign),
        }
    return rows


@pytest.mark.parametrize("model", [Campaign, Experiment, Conversion])
class TestVisibleTo(VisibleToCases):
    """``visible_to`` and ``owned_by`` (cases in ``gateway/tests/queryset_cases.py``)."""


def test_alive_and_deleted_split_the_rows():
    live, gone = CampaignFactory(), CampaignFactory()
    gone.soft_delete()
    assert list(Campaign.all_objects.alive()) == [live]
    assert list(Campaign.all_objects.deleted()) == [gone]


class TestWithKpis:
    def test_ratios_of_the_totals_and_the_revenue_of_the_conversions(self):
        campaign = CampaignFactory(
            budget=Decimal("5000.00"),
            total_spend=Decimal("1250.50"),
            total_impressions=125_000,
            total_clicks=3_500,
            total_conversions=175,
        )
        ConversionFactory(campaign=campaign, value=Decimal("100.00"))
        ConversionFactory(campaign=campaign, value=Decimal("150.25"))
        ConversionFactory(value=Decimal("999.00"))  # another campaign
        row = Campaign.objects.with_kpis().get(pk=campaign.pk)
        assert row.revenue == Decimal("250.25")
        assert row.ctr_value == pytest.approx(3_500 / 125_000)
        assert row.cpc_value == pytest.approx(1250.50 / 3_500)
        assert row.cpa_value == pytest.approx(1250.50 / 175)
        assert row.roas_value == pytest.approx(250.25 / 1250.50)
        assert row.budget_used == pytest.approx(1250.50 / 5000)

    def test_a_zero_denominator_is_null_and_no_conversion_is_zero_revenue(self):
        campaign = CampaignFactory(zeroed=True)
        row = Campaign.objects.with_kpis().get(pk=campaign.pk)
        assert row.revenue == Decimal("0")
        assert (row.ctr_value, row.cpc_value, row.cpa_value, row.roas_value, row.budget_used) == (None,) * 5

    def test_rows_sort_by_a_key_figure(self):
        cheap = CampaignFactory(total_spend=Decimal("10.00"), total_clicks=100)
        dear = CampaignFactory(total_spend=Decimal("90.00"), total_clicks=100)
        assert list(Campaign.objects.with_kpis().order_by("-cpc_value")) == [dear, cheap]


class TestTotalsByCurrency:
    def test_count_value_and_latest_timestamp_per_currency(self):
        campaign = CampaignFactory()
        first = timezone.now() - datetime.timedelta(days=2)
        last = timezone.now() - datetime.timedelta(days=1)
        ConversionFactory(campaign=campaign, currency="USD", value=Decimal("10.00"), timestamp=first)
        ConversionFactory(campaign=campaign, currency="USD", value=Decimal("5.50"), timestamp=last)
        ConversionFactory(campaign=campaign, currency="EUR", value=Decimal("7.00"), timestamp=first)
        ConversionFactory(currency="GBP")  # another campaign
        assert list(campaign.conversions.totals_by_currency()) == [
            {"currency": "EUR", "count": 1, "value": Decimal("7.00"), "last_timestamp": first},
            {"currency": "USD", "count": 2, "value": Decimal("15.50"), "last_timestamp": last},
        ]

    def test_no_conversions_no_rows(self):
        assert list(CampaignFactory().conversions.totals_by_currency()) == []


class TestRunningLeaders:
    def test_running_experiments_by_confidence_with_their_leader(self):
        unsure = ExperimentFactory(confidence=0.5)
        sure = ExperimentFactory(confidence=0.9)
        ExperimentFactory(status=ExperimentStatus.COMPLETED, confidence=0.99)
        ExperimentFactory(confidence=0.95).soft_delete()
        rows = list(Experiment.objects.running_leaders(limit=10))
        assert [row.pk for row in rows] == [sure.pk, unsure.pk]
        assert rows[0].leader["id"] == "variant-b"

    def test_the_limit(self):
        ExperimentFactory.create_batch(3, confidence=0.5)
        assert len(Experiment.objects.running_leaders(limit=2)) == 2
