"""Database-level rules of campaigns, experiments and conversions, and what deleting a campaign does.

Bad rows are written with ``QuerySet.update()`` or ``save()`` so model validation is bypassed and only
the database stands in the way; each write runs in its own savepoint so the test's transaction stays usable.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Conversion, Experiment

pytestmark = pytest.mark.django_db

ONE_DAY = datetime.timedelta(days=1)


def case(factory, constraint, values, label=None):
    """A row of the check-constraint table: ``values`` written over a valid ``factory`` row break ``constraint``."""
    label = label or ",".join(f"{field}={value}" for field, value in values.items())
    return pytest.param(factory, constraint, values, id=f"{constraint}:{label}")


CHECK_CASES = [
    case(CampaignFactory, "campaigns_campaign_budget_non_negative", {"budget": Decimal("-1"), "daily_budget": None}),
    case(CampaignFactory, "campaigns_campaign_daily_budget_non_negative", {"daily_budget": Decimal("-0.01")}),
    case(
        CampaignFactory,
        "campaigns_campaign_daily_budget_within_budget",
        {"daily_budget": F("budget") + Decimal("0.01")},
        label="daily>budget",
    ),
    case(CampaignFactory, "campaigns_campaign_currency_iso4217", {"currency": "usd"}),
    case(CampaignFactory, "campaigns_campaign_currency_iso4217", {"currency": "US"}),
    case(CampaignFactory, "campaigns_campaign_currency_iso4217", {"currency": "U5D"}),
    case(CampaignFactory, "campaigns_campaign_end_after_start", {"end_date": F("start_date") - ONE_DAY}, "end<start"),
    case(CampaignFactory, "campaigns_campaign_total_spend_non_negative", {"total_spend": Decimal("-0.01")}),
    case(CampaignFactory, "campaigns_campaign_total_impressions_non_negative", {"total_impressions": -1}),
    case(CampaignFactory, "campaigns_campaign_total_clicks_non_negative", {"total_clicks": -1}),
    case(CampaignFactory, "campaigns_campaign_total_conversions_non_negative", {"total_conversions": -1}),
    case(CampaignFactory, "campaigns_campaign_objective_valid", {"objective": "PROFIT"}),
    case(CampaignFactory, "campaigns_campaign_objective_valid", {"objective": "sales"}),
    case(CampaignFactory, "campaigns_campaign_status_valid", {"status": "RUNNING"}),
    case(CampaignFactory, "campaigns_campaign_status_valid", {"status": "active"}),
    case(ExperimentFactory, "campaigns_experiment_confidence_in_unit_interval", {"confidence": -0.1}),
    case(ExperimentFactory, "campaigns_experiment_confidence_in_unit_interval", {"confidence": 1.1}),
    case(ExperimentFactory, "campaigns_experiment_status_valid", {"status": "ACTIVE"}),
    case(ExperimentFactory, "campaigns_experiment_variants_is_list", {"variants": {"id": "variant-a"}}, "object"),
    case(ExperimentFactory, "campaigns_experiment_winner_is_a_variant", {"winner_variant_id": "variant-z"}),
    case(ExperimentFactory, "campaigns_experiment_winner_is_a_variant", {"winner_variant_id": "Variant A"}),
    case(
        ExperimentFactory,
        "campaigns_experiment_end_after_start",
        {"start_date": timezone.now(), "end_date": timezone.now() - ONE_DAY},
        label="end<start",
    ),
    case(ConversionFactory, "campaigns_conversion_value_non_negative", {"value": Decimal("-0.01")}),
    case(ConversionFactory, "campaigns_conversion_currency_iso4217", {"currency": "eur"}),
    case(ConversionFactory, "campaigns_conversion_source_valid", {"source": "FACEBOOK"}),
]
UNIQUE_CONSTRAINTS_TESTED = {"campaigns_campaign_meta_campaign_id_unique", "campaigns_conversion_external_id_unique"}


def test_every_declared_constraint_has_a_test():
    declared = {c.name for model in (Campaign, Experiment, Conversion) for c in model._meta.constraints}
    tested = {param.values[1] for param in CHECK_CASES} | UNIQUE_CONSTRAINTS_TESTED
    assert declared == tested


@pytest.mark.parametrize(("factory", "constraint", "values"), CHECK_CASES)
def test_check_constraint_rejects_bad_row(factory, constraint, values):
    row = factory()
    model = factory._meta.model
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        model._base_manager.filter(pk=row.pk).update(**values)


def test_campaign_meta_campaign_id_is_unique():
    CampaignFactory(meta_campaign_id="120210000000001")
    with pytest.raises(IntegrityError, match="campaigns_campaign_meta_campaign_id_unique"), transaction.atomic():
        CampaignFactory(meta_campaign_id="120210000000001")


def test_campaigns_without_a_meta_campaign_id_may_be_many():
    CampaignFactory.create_batch(2, meta_campaign_id=None)
    assert Campaign.objects.filter(meta_campaign_id__isnull=True).count() == 2


def test_conversion_external_id_is_unique():
    ConversionFactory(external_id="fb_evt_1")
    with pytest.raises(IntegrityError, match="campaigns_conversion_external_id_unique"), transaction.atomic():
        ConversionFactory(external_id="fb_evt_1")


def test_conversions_without_an_external_id_may_be_many():
    ConversionFactory.create_batch(2, external_id=None)
    assert Conversion.objects.filter(external_id__isnull=True).count() == 2


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
    with pytest.raises(IntegrityError, match="campaigns_experiment_winner_is_a_variant"), transaction.atomic():
        Experiment.objects.filter(pk=experiment.pk).update(winner_variant_id=other.variants[0]["id"])


class TestDeletingACampaign:
    def test_keeps_its_conversions_without_a_campaign(self):
        conversion = ConversionFactory()
        conversion.campaign.delete()
        conversion.refresh_from_db()
        assert conversion.campaign_id is None

    def test_deletes_its_experiments(self):
        experiment = ExperimentFactory()
        experiment.campaign.delete()
        assert not Experiment.all_objects.filter(pk=experiment.pk).exists()

    def test_deletes_its_soft_deleted_experiments_too(self):
        experiment = ExperimentFactory()
        experiment.soft_delete()
        experiment.campaign.delete()
        assert not Experiment.all_objects.filter(pk=experiment.pk).exists()
