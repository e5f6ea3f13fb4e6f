"""Database-level rules of campaigns, experiments and conversions, and what deleting a campaign does.

Helpers (check cases, refused writes, cascades): gateway.tests.model_helpers.
"""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion, Experiment
from gateway.tests.model_helpers import (
    assert_check_rejects,
    assert_deleting_parent_deletes,
    cased_constraints,
    check_case,
    constraints_of,
    refused_by,
)

pytestmark = pytest.mark.django_db

ONE_DAY = datetime.timedelta(days=1)


CHECK_CASES = [
    check_case(
        CampaignFactory, "campaigns_campaign_budget_non_negative", {"budget": Decimal("-1"), "daily_budget": None}
    ),
    check_case(CampaignFactory, "campaigns_campaign_daily_budget_non_negative", {"daily_budget": Decimal("-0.01")}),
    check_case(
        CampaignFactory,
        "campaigns_campaign_daily_budget_within_budget",
        {"daily_budget": F("budget") + Decimal("0.01")},
        label="daily>budget",
    ),
    check_case(CampaignFactory, "campaigns_campaign_currency_iso4217", {"currency": "usd"}),
    check_case(CampaignFactory, "campaigns_campaign_currency_iso4217", {"currency": "US"}),
    check_case(CampaignFactory, "campaigns_campaign_currency_iso4217", {"currency": "U5D"}),
    check_case(
        CampaignFactory, "campaigns_campaign_end_after_start", {"end_date": F("start_date") - ONE_DAY}, "end<start"
    ),
    check_case(CampaignFactory, "campaigns_campaign_total_spend_non_negative", {"total_spend": Decimal("-0.01")}),
    check_case(CampaignFactory, "campaigns_campaign_total_impressions_non_negative", {"total_impressions": -1}),
    check_case(CampaignFactory, "campaigns_campaign_total_clicks_non_negative", {"total_clicks": -1}),
    check_case(CampaignFactory, "campaigns_campaign_total_conversions_non_negative", {"total_conversions": -1}),
    check_case(CampaignFactory, "campaigns_campaign_objective_valid", {"objective": "PROFIT"}),
    check_case(CampaignFactory, "campaigns_campaign_objective_valid", {"objective": "sales"}),
    check_case(CampaignFactory, "campaigns_campaign_status_valid", {"status": "RUNNING"}),
    check_case(CampaignFactory, "campaigns_campaign_status_valid", {"status": "active"}),
    check_case(ExperimentFactory, "campaigns_experiment_confidence_in_unit_interval", {"confidence": -0.1}),
    check_case(ExperimentFactory, "campaigns_experiment_confidence_in_unit_interval", {"confidence": 1.1}),
    check_case(ExperimentFactory, "campaigns_experiment_status_valid", {"status": "ACTIVE"}),
    check_case(ExperimentFactory, "campaigns_experiment_variants_is_list", {"variants": {"id": "variant-a"}}, "object"),
    check_case(ExperimentFactory, "campaigns_experiment_winner_is_a_variant", {"winner_variant_id": "variant-z"}),
    check_case(ExperimentFactory, "campaigns_experiment_winner_is_a_variant", {"winner_variant_id": "Variant A"}),
    check_case(
        ExperimentFactory,
        "campaigns_experiment_end_after_start",
        {"start_date": timezone.now(), "end_date": timezone.now() - ONE_DAY},
        label="end<start",
    ),
    check_case(ConversionFactory, "campaigns_conversion_value_non_negative", {"value": Decimal("-0.01")}),
    check_case(ConversionFactory, "campaigns_conversion_currency_iso4217", {"currency": "eur"}),
    check_case(ConversionFactory, "campaigns_conversion_source_valid", {"source": "FACEBOOK"}),
]
UNIQUE_CONSTRAINTS_TESTED = {"campaigns_campaign_meta_campaign_id_unique", "campaigns_conversion_external_id_unique"}


def test_every_declared_constraint_has_a_test():
    assert (
        constraints_of(Campaign, Experiment, Conversion) == cased_constraints(CHECK_CASES) | UNIQUE_CONSTRAINTS_TESTED
    )


@pytest.mark.parametrize(("factory", "constraint", "values"), CHECK_CASES)
def test_check_constraint_rejects_bad_row(factory, constraint, values):
    assert_check_rejects(factory, constraint, values)


# Platform ids: unique when given, any number of rows without one.
UNIQUE_OR_NULL = [
    pytest.param(
        CampaignFactory,
        "meta_campaign_id",
        "120210000000001",
        "campaigns_campaign_meta_campaign_id_unique",
        id="campaign",
    ),
    pytest.param(
        ConversionFactory,
        "external_id",
        "fb_evt_1",
        "campaigns_conversion_external_id_unique",
        id="conversion",
    ),
]


@pytest.mark.parametrize(("factory", "field", "value", "constraint"), UNIQUE_OR_NULL)
def test_a_platform_id_is_unique(factory, field, value, constraint):
    factory(**{field: value})
    with refused_by(constraint):
        factory(**{field: value})


@pytest.mark.parametrize(("factory", "field", "value", "constraint"), UNIQUE_OR_NULL)
def test_rows_without_a_platform_id_may_be_many(factory, field, value, constraint):
    factory.create_batch(2, **{field: None})
    assert factory._meta.model.objects.filter(**{f"{field}__isnull": True}).count() == 2


def test_campaign_daily_budget_may_equal_the_budget():
    campaign = CampaignFactory(budget=Decimal("100.00"), daily_budget=Decimal("100.00"))
    assert Campaign.objects.get(pk=campaign.pk).daily_budget == Decimal("100.00")


def test_campaign_may_end_on_the_day_it_starts():
    now = timezone.now()
    campaign = CampaignFactory(start_date=now, end_date=now)
    assert Campaign.objects.get(pk=campaign.pk).end_date == now


def test_experiment_winner_may_be_one_of_its_variants():
    experiment = ExperimentFactory()
    Experiment.objects.filter(pk=experiment.pk).update(winner_variant_id="variant-b")
    assert Experiment.objects.get(pk=experiment.pk).winner_variant_id == "variant-b"


def test_experiment_winner_must_be_a_variant_of_the_same_row():
    other = ExperimentFactory(variants=[{"id": "other-a", "name": "Other A"}])
    experiment = ExperimentFactory()
    with refused_by("campaigns_experiment_winner_is_a_variant"):
        Experiment.objects.filter(pk=experiment.pk).update(winner_variant_id=other.variants[0]["id"])


class TestDeletingACampaign:
    def test_keeps_its_conversions_without_a_campaign(self):
        conversion = ConversionFactory()
        conversion.campaign.delete()
        conversion.refresh_from_db()
        assert conversion.campaign_id is None

    def test_deletes_its_experiments(self):
        assert_deleting_parent_deletes(ExperimentFactory, "campaign")

    def test_deletes_its_soft_deleted_experiments_too(self):
        experiment = ExperimentFactory()
        experiment.soft_delete()
        experiment.campaign.delete()
        assert not Experiment.all_objects.filter(pk=experiment.pk).exists()
