import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.choices import CampaignStatus, ConversionSource, ExperimentStatus
from campaigns.models import Campaign, Conversion, Experiment
from users.factories import UserFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    user = factory.SubFactory(UserFactory)
    name = factory.Faker("catch_phrase")
    budget = Decimal("5000.00")
    daily_budget = Decimal("200.00")
    status = CampaignStatus.ACTIVE
    start_date = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=30))
    end_date = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))

    class Params:
        # Nothing spent, shown or converted and no budget: every ratio has a zero denominator.
        zeroed = factory.Trait(
            budget=Decimal("0"),
            daily_budget=None,
            total_spend=Decimal("0"),
            total_impressions=0,
            total_clicks=0,
            total_conversions=0,
        )


def default_variants():
    return [
        {"id": "variant-a", "name": "Variant A", "impressions": 10_000, "clicks": 300, "conversions": 30},
        {"id": "variant-b", "name": "Variant B", "impressions": 10_000, "clicks": 350, "conversions": 40},
    ]


class ExperimentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Experiment

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Experiment {n}")
    variants = factory.LazyFunction(default_variants)
    status = ExperimentStatus.RUNNING


class ConversionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversion

    campaign = factory.SubFactory(CampaignFactory)
    source = ConversionSource.META
    external_id = factory.Sequence(lambda n: f"ext_{n}")
    value = Decimal("49.90")
    currency = "USD"
    timestamp = factory.LazyFunction(timezone.now)
