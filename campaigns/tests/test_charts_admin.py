"""The admin's campaign and experiment pages show their charts, with the data in them."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.charts import experiment_evaluation_chart
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory

pytestmark = pytest.mark.django_db

HEADLINE = [
    {"id": "variant-a", "name": "Variant A - Direct", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "Variant B - Question", "impressions": 50_000, "clicks": 1_750, "conversions": 95},
]


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_campaign_page_charts_daily_conversions_and_value(staff_client):
    campaign = CampaignFactory(
        start_date=datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC),
        end_date=datetime.datetime(2025, 6, 5, tzinfo=datetime.UTC),
        total_spend=Decimal("100.00"),
    )
    for hour, value in ((9, "40.00"), (15, "2.50")):
        ConversionFactory(
            campaign=campaign, value=Decimal(value), timestamp=datetime.datetime(2025, 6, 3, hour, tzinfo=datetime.UTC)
        )
    response = staff_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Conversions per day, 2025-06-01 to 2025-06-05" in html
    assert 'data-label="2025-06-03" data-value="2.0"' in html  # two conversions that day
    assert 'data-label="2025-06-02" data-value="0.0"' in html  # zeros are drawn too
    assert 'data-series="value" data-label="2025-06-03" data-value="42.5"' in html
    assert "2 conversions worth 42.50 USD in this period" in html


def test_campaign_add_page_has_no_chart(staff_client):
    response = staff_client.get(reverse("admin:campaigns_campaign_add"))
    assert response.status_code == 200
    assert "Conversions per day" not in response.content.decode()


def test_experiment_page_charts_rates_intervals_and_probability_best(staff_client):
    experiment = ExperimentFactory(variants=HEADLINE, metrics={"metric": "ctr"})
    response = staff_client.get(reverse("admin:campaigns_experiment_change", args=[experiment.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    # the stored evaluation's metric (CTR): 1,500 / 50,000 and 1,750 / 50,000 with Wilson intervals
    assert "Click-through rate by variant, with 95% intervals" in html
    assert 'data-label="Variant A - Direct (variant-a) · control" data-value="0.03"' in html
    assert 'data-label="Variant B - Question (variant-b)" data-value="0.035"' in html
    assert "3.50% (95% interval 3.34% to 3.66%)" in html
    assert "P(best) 100.0% · winner" in html
    assert "Probability of being best" in html
    assert "&#x27;variant-b&#x27; wins on click-through rate" in html


def test_experiment_with_bad_variants_shows_the_problem(staff_client):
    experiment = ExperimentFactory(variants=[HEADLINE[0], {**HEADLINE[1], "conversions": -1}])
    response = staff_client.get(reverse("admin:campaigns_experiment_change", args=[experiment.pk]))
    assert response.status_code == 200
    assert "has a negative conversions count" in response.content.decode()


def test_experiment_chart_escapes_variant_names():
    variants = [{**HEADLINE[0], "name": "<img src=x onerror=alert(1)>"}, HEADLINE[1]]
    html = experiment_evaluation_chart(ExperimentFactory.build(variants=variants))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
