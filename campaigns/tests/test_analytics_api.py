"""``POST experiments/{id}/evaluate/`` and ``GET campaigns/{id}/performance/``."""

import datetime
from decimal import Decimal

import pytest

from campaigns.choices import ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from gateway.models import JobRecord

pytestmark = pytest.mark.django_db

HEADLINE = [
    {"id": "variant-a", "name": "Variant A - Direct", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "Variant B - Question", "impressions": 50_000, "clicks": 1_750, "conversions": 95},
]


def evaluate_url(experiment):
    return f"/api/v1/experiments/{experiment.pk}/evaluate/"


def performance_url(campaign):
    return f"/api/v1/campaigns/{campaign.pk}/performance/"


@pytest.fixture
def experiment(user):
    return ExperimentFactory(campaign=CampaignFactory(user=user), variants=HEADLINE)


class TestEvaluate:
    def test_default_metric_has_no_winner_and_says_why(self, user_client, experiment):
        response = user_client.post(evaluate_url(experiment), {}, format="json")
        assert response.status_code == 200, response.data
        body = response.json()
        assert body["metric"] == "conversion_rate"
        assert body["winner"] is None
        assert body["confidence"] == pytest.approx(0.8753, abs=1e-4)
        assert "below the threshold 0.95" in body["reason"]
        assert body["applied"] is False
        variants = {variant["id"]: variant for variant in body["variants"]}
        assert variants["variant-b"]["rate"] == pytest.approx(95 / 50_000)
        assert variants["variant-b"]["p_value"] == pytest.approx(0.1247, abs=1e-4)
        assert variants["variant-b"]["lift"] == pytest.approx(95 / 75 - 1)
        assert variants["variant-b"]["probability_best"] == pytest.approx(0.94, abs=0.005)
        assert variants["variant-a"]["p_value"] is None

    def test_ctr_has_a_winner(self, user_client, experiment):
        body = user_client.post(evaluate_url(experiment), {"metric": "ctr"}, format="json").json()
        assert body["winner"] == "variant-b"
        assert body["decided"] is True
        assert body["confidence"] > 0.99
        experiment.refresh_from_db()
        assert experiment.winner_variant_id is None  # not applied

    def test_apply_queues_a_job_and_answers_202(self, user_client, user, experiment):
        response = user_client.post(
            evaluate_url(experiment), {"metric": "ctr", "apply": True}, format="json", HTTP_X_REQUEST_ID="req-42"
        )
        assert response.status_code == 202, response.json()
        body = response.json()
        assert (body["task"], body["status"], body["result"]) == ("campaigns.tasks.evaluate_experiment", "todo", None)
        assert response["Location"] == f"/api/v1/jobs/{body['id']}/"
        record = JobRecord.objects.select_related("job").get(pk=body["id"])
        assert (record.user, record.request_id) == (user, "req-42")
        assert record.job.args == {
            "experiment_id": str(experiment.pk),
            "metric": "ctr",
            "threshold": 0.95,
            "min_sample": 1000,
        }
        experiment.refresh_from_db()
        assert experiment.winner_variant_id is None  # a worker applies it (gateway/tests/test_jobs.py)

    def test_threshold_and_min_sample_are_honoured(self, user_client, experiment):
        body = user_client.post(evaluate_url(experiment), {"threshold": 0.85}, format="json").json()
        assert body["winner"] == "variant-b"
        body = user_client.post(evaluate_url(experiment), {"metric": "ctr", "min_sample": 60_000}, format="json").json()
        assert body["winner"] is None
        assert "needs 60,000 impressions" in body["reason"]

    @pytest.mark.parametrize(
        ("variants", "expected"),
        [
            ([HEADLINE[0]], "at least two variants"),
            ([HEADLINE[0], {**HEADLINE[1], "impressions": -1}], "'variant-b' has a negative impressions"),
            ([HEADLINE[0], {**HEADLINE[1], "conversions": 50_001}], "'variant-b' has more conversions"),
            ([HEADLINE[0], {**HEADLINE[1], "id": "variant-a"}], "'variant-a' appears more than once"),
            ([HEADLINE[0], {"id": "variant-b", "name": "B", "impressions": 10}], "'variant-b' has no conversions"),
            ([HEADLINE[0], {**HEADLINE[1], "conversions": "many"}], "'variant-b' has a non-numeric"),
        ],
    )
    def test_bad_variants_are_a_400_naming_the_variant(self, user_client, user, variants, expected):
        # Stored as staff could (the model's own checks only cover ids and names).
        experiment = ExperimentFactory(campaign=CampaignFactory(user=user), variants=variants)
        response = user_client.post(evaluate_url(experiment), {"apply": True}, format="json")
        assert response.status_code == 400
        assert any(expected in message for message in response.json()["variants"]), response.json()
        experiment.refresh_from_db()
        assert experiment.metrics == {}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"metric": "roas"}, "metric"),
            ({"threshold": 1}, "threshold"),
            ({"threshold": 0.1}, "threshold"),
            ({"min_sample": -5}, "min_sample"),
            ({"apply": "perhaps"}, "apply"),
        ],
    )
    def test_bad_parameters_are_a_400(self, user_client, experiment, body, field):
        response = user_client.post(evaluate_url(experiment), body, format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_cancelled_experiment_cannot_be_applied(self, user_client, user):
        experiment = ExperimentFactory(
            campaign=CampaignFactory(user=user), variants=HEADLINE, status=ExperimentStatus.CANCELLED
        )
        response = user_client.post(evaluate_url(experiment), {"apply": True}, format="json")
        assert response.status_code == 400
        assert "apply" in response.json()

    def test_someone_elses_experiment_is_a_404(self, user_client):
        other = ExperimentFactory(variants=HEADLINE)
        assert user_client.post(evaluate_url(other), {}, format="json").status_code == 404

    def test_admin_may_evaluate_any_experiment(self, admin_client_api):
        other = ExperimentFactory(variants=HEADLINE)
        assert admin_client_api.post(evaluate_url(other), {}, format="json").status_code == 200

    def test_anonymous_is_a_401(self, api_client, experiment):
        assert api_client.post(evaluate_url(experiment), {}, format="json").status_code == 401


@pytest.fixture
def campaign(user):
    return CampaignFactory(
        user=user,
        budget=Decimal("5000.00"),
        daily_budget=Decimal("200.00"),
        start_date=datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC),
        end_date=datetime.datetime(2025, 8, 31, tzinfo=datetime.UTC),
        total_spend=Decimal("1250.50"),
        total_impressions=125_000,
        total_clicks=3_500,
        total_conversions=175,
    )


class TestPerformance:
    def test_figures_and_daily_series(self, user_client, campaign):
        ConversionFactory(
            campaign=campaign, value=Decimal("50.00"), timestamp=datetime.datetime(2025, 6, 2, 9, tzinfo=datetime.UTC)
        )
        response = user_client.get(performance_url(campaign), {"from": "2025-06-01", "to": "2025-06-03"})
        assert response.status_code == 200, response.data
        body = response.json()
        assert body["ctr"] == pytest.approx(0.028)
        assert body["cpc"] == "0.3573"
        assert body["cpm"] == "10.0040"
        assert body["cpa"] == "7.1457"
        assert body["roas"] == "0.0400"  # 50.00 / 1,250.50
        assert body["spend"] == "1250.50"
        assert body["impressions"] == 125_000
        assert body["daily"] == [
            {"date": "2025-06-01", "conversions": 0, "value": "0.00"},
            {"date": "2025-06-02", "conversions": 1, "value": "50.00"},
            {"date": "2025-06-03", "conversions": 0, "value": "0.00"},
        ]
        assert body["budget"]["remaining"] == "3749.50"
        assert body["budget"]["average_daily_spend"] == "13.59"
        assert body["undefined"] == {}

    def test_defaults_to_the_campaign_run(self, user_client, campaign):
        body = user_client.get(performance_url(campaign)).json()
        assert (body["date_from"], body["date_to"], body["days"]) == ("2025-06-01", "2025-08-31", 92)
        assert len(body["daily"]) == 92

    def test_zero_spend_is_null_with_a_reason(self, user_client, user):
        campaign = CampaignFactory(user=user, total_spend=Decimal("0"), total_impressions=0, total_clicks=0)
        body = user_client.get(performance_url(campaign)).json()
        assert body["roas"] is None
        assert body["ctr"] is None
        assert body["cpc"] is None
        assert set(body["undefined"]) >= {"roas", "ctr", "cpc", "cpm", "cpa"}

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"from": "2025-07-02", "to": "2025-07-01"}, "from"),
            ({"from": "yesterday"}, "from"),
            ({"to": "2025-13-01"}, "to"),
            ({"from": "2020-01-01", "to": "2025-01-01"}, "to"),
        ],
    )
    def test_bad_dates_are_a_400(self, user_client, campaign, query, field):
        response = user_client.get(performance_url(campaign), query)
        assert response.status_code == 400
        assert field in response.json()

    def test_someone_elses_campaign_is_a_404(self, user_client):
        assert user_client.get(performance_url(CampaignFactory())).status_code == 404

    def test_anonymous_is_a_401(self, api_client, campaign):
        assert api_client.get(performance_url(campaign)).status_code == 401


def test_schema_documents_the_endpoints(admin_client_api):
    response = admin_client_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/experiments/{id}/evaluate/" in paths
    assert "/api/v1/campaigns/{id}/performance/" in paths
    parameters = {p["name"] for p in paths["/api/v1/campaigns/{id}/performance/"]["get"]["parameters"]}
    assert {"from", "to"} <= parameters
