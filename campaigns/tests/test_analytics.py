"""Experiment evaluation (service), the evaluate_experiments command and campaign performance (selector)."""

import datetime
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import stats
from campaigns.analytics import MAX_RANGE_DAYS, campaign_default_range, campaign_performance
from campaigns.choices import ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.management.commands.evaluate_experiments import Command as EvaluateExperimentsCommand
from campaigns.models import Experiment
from campaigns.services import experiment_evaluate

pytestmark = pytest.mark.django_db

HEADLINE = [
    {"id": "variant-a", "name": "Variant A - Direct", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "Variant B - Question", "impressions": 50_000, "clicks": 1_750, "conversions": 95},
]
UTC = datetime.UTC


def at(year, month, day, hour=12, minute=0, second=0):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class TestExperimentEvaluate:
    def test_without_apply_nothing_is_stored(self):
        experiment = ExperimentFactory(variants=HEADLINE, metrics={"kept": 1})
        outcome = experiment_evaluate(experiment=experiment, metric="ctr")
        assert outcome["winner"] == "variant-b"
        assert outcome["applied"] is False
        experiment.refresh_from_db()
        assert experiment.metrics == {"kept": 1}
        assert experiment.winner_variant_id is None
        assert experiment.status == ExperimentStatus.RUNNING

    def test_apply_with_a_winner_completes_the_experiment(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        outcome = experiment_evaluate(experiment=experiment, metric="ctr", apply=True)
        experiment.refresh_from_db()
        assert outcome["applied"] is True
        assert experiment.winner_variant_id == "variant-b"
        assert experiment.winner_selected_at is not None
        assert experiment.status == ExperimentStatus.COMPLETED
        assert experiment.confidence == pytest.approx(outcome["confidence"])
        assert experiment.metrics["metric"] == "ctr"
        assert [v["id"] for v in experiment.metrics["variants"]] == ["variant-a", "variant-b"]
        assert experiment.metrics["variants"][1]["p_value"] == pytest.approx(8.2598e-6, rel=1e-4)
        assert "evaluated_at" in experiment.metrics

    def test_apply_without_a_winner_stores_statistics_only(self):
        experiment = ExperimentFactory(variants=HEADLINE, metrics={"note": "kept"})
        outcome = experiment_evaluate(experiment=experiment, apply=True)
        experiment.refresh_from_db()
        assert outcome["winner"] is None
        assert experiment.status == ExperimentStatus.RUNNING
        assert experiment.winner_variant_id is None
        assert experiment.confidence == pytest.approx(0.8753, abs=1e-4)
        assert experiment.metrics["note"] == "kept"
        assert experiment.metrics["reason"] == outcome["reason"]

    def test_apply_updates_the_callers_instance(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        experiment_evaluate(experiment=experiment, metric="ctr", apply=True)
        assert experiment.status == ExperimentStatus.COMPLETED
        assert experiment.winner_variant_id == "variant-b"

    def test_apply_locks_the_row(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        with CaptureQueriesContext(connection) as queries:
            experiment_evaluate(experiment=experiment, apply=True)
        assert any("FOR UPDATE" in query["sql"] for query in queries.captured_queries)

    def test_bad_variants_are_a_validation_error_naming_the_variant(self):
        experiment = ExperimentFactory(
            variants=[HEADLINE[0], {**HEADLINE[1], "conversions": 60_000}], metrics={"before": True}
        )
        with pytest.raises(ValidationError) as error:
            experiment_evaluate(experiment=experiment, apply=True)
        assert "'variant-b'" in error.value.message_dict["variants"][0]
        experiment.refresh_from_db()
        assert experiment.metrics == {"before": True}
        assert experiment.confidence is None

    def test_bad_parameters_are_validation_errors(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        with pytest.raises(ValidationError) as error:
            experiment_evaluate(experiment=experiment, metric="roas")
        assert "metric" in error.value.message_dict
        with pytest.raises(ValidationError) as error:
            experiment_evaluate(experiment=experiment, threshold=1.5)
        assert "threshold" in error.value.message_dict

    def test_apply_is_all_or_nothing(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        original_save = Experiment.save

        def save_then_fail(self, *args, **kwargs):
            original_save(self, *args, **kwargs)
            raise RuntimeError("the connection dropped")

        with mock.patch.object(Experiment, "save", save_then_fail), pytest.raises(RuntimeError):
            experiment_evaluate(experiment=experiment, metric="ctr", apply=True)
        experiment.refresh_from_db()
        assert experiment.metrics == {}
        assert experiment.status == ExperimentStatus.RUNNING
        assert experiment.winner_variant_id is None

    def test_cancelled_experiment_cannot_be_applied(self):
        experiment = ExperimentFactory(variants=HEADLINE, status=ExperimentStatus.CANCELLED)
        with pytest.raises(ValidationError) as error:
            experiment_evaluate(experiment=experiment, metric="ctr", apply=True)
        assert "apply" in error.value.message_dict
        experiment.refresh_from_db()
        assert experiment.metrics == {}

    def test_a_different_recorded_winner_is_not_overwritten(self):
        experiment = ExperimentFactory(
            variants=HEADLINE, status=ExperimentStatus.COMPLETED, winner_variant_id="variant-a"
        )
        with pytest.raises(ValidationError, match="already has the winner 'variant-a'"):
            experiment_evaluate(experiment=experiment, metric="ctr", apply=True)

    def test_the_same_recorded_winner_keeps_its_time(self):
        picked = at(2025, 6, 20)
        experiment = ExperimentFactory(
            variants=HEADLINE,
            status=ExperimentStatus.COMPLETED,
            winner_variant_id="variant-b",
            winner_selected_at=picked,
        )
        experiment_evaluate(experiment=experiment, metric="ctr", apply=True)
        experiment.refresh_from_db()
        assert experiment.winner_selected_at == picked


class TestEvaluateExperimentsCommand:
    def test_help_names_every_option_with_its_default(self):
        parser = EvaluateExperimentsCommand().create_parser("manage.py", "evaluate_experiments")
        text = " ".join(parser.format_help().split())
        assert f"(default: {stats.DEFAULT_METRIC})" in text
        assert f"(default: {stats.DEFAULT_THRESHOLD})" in text
        assert f"(default: {stats.DEFAULT_MIN_SAMPLE})" in text

    def run(self, *args):
        out, err = StringIO(), StringIO()
        call_command("evaluate_experiments", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_only_running_experiments_are_evaluated(self):
        running = ExperimentFactory(variants=HEADLINE, status=ExperimentStatus.RUNNING)
        others = [
            ExperimentFactory(variants=HEADLINE, status=status)
            for status in (ExperimentStatus.DRAFT, ExperimentStatus.PAUSED, ExperimentStatus.CANCELLED)
        ]
        deleted = ExperimentFactory(variants=HEADLINE, status=ExperimentStatus.RUNNING)
        deleted.soft_delete()
        out, _ = self.run("--metric", "ctr")
        running.refresh_from_db()
        assert running.winner_variant_id == "variant-b"
        assert running.status == ExperimentStatus.COMPLETED
        for experiment in [*others, deleted]:
            experiment = Experiment.all_objects.get(pk=experiment.pk)
            assert experiment.metrics == {}
            assert experiment.winner_variant_id is None
        assert "Evaluated 1 running experiment(s) on ctr: 1 winner(s), 0 without a winner yet, 0 failed." in out

    def test_summary_counts_undecided_experiments(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        out, _ = self.run()
        assert "0 winner(s), 1 without a winner yet" in out
        assert str(experiment.pk) in out
        experiment.refresh_from_db()
        assert experiment.status == ExperimentStatus.RUNNING
        assert experiment.confidence == pytest.approx(0.8753, abs=1e-4)

    def test_dry_run_stores_nothing(self):
        experiment = ExperimentFactory(variants=HEADLINE)
        out, _ = self.run("--metric", "ctr", "--dry-run")
        experiment.refresh_from_db()
        assert experiment.metrics == {}
        assert experiment.status == ExperimentStatus.RUNNING
        assert "dry run" in out

    @pytest.mark.parametrize("args", [("--threshold", "1.5"), ("--min-sample", "-1")])
    def test_bad_options_stop_before_evaluating(self, args):
        experiment = ExperimentFactory(variants=HEADLINE)
        with pytest.raises(CommandError):
            self.run(*args)
        experiment.refresh_from_db()
        assert experiment.metrics == {}

    def test_a_bad_experiment_is_reported_and_the_others_still_applied(self):
        bad = ExperimentFactory(variants=[HEADLINE[0]], name="Lonely")
        good = ExperimentFactory(variants=HEADLINE)
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError, match="1 experiment"):
            call_command("evaluate_experiments", "--metric", "ctr", stdout=out, stderr=err)
        assert "Lonely" in err.getvalue()
        assert "at least two variants" in err.getvalue()
        good.refresh_from_db()
        assert good.winner_variant_id == "variant-b"
        bad.refresh_from_db()
        assert bad.metrics == {}


@pytest.fixture
def campaign():
    """The development data's Summer Product Launch figures (SEED_DATA.md)."""
    return CampaignFactory(
        budget=Decimal("5000.00"),
        daily_budget=Decimal("200.00"),
        start_date=at(2025, 6, 1, 0),
        end_date=at(2025, 8, 31, 0),
        total_spend=Decimal("1250.50"),
        total_impressions=125_000,
        total_clicks=3_500,
        total_conversions=175,
    )


class TestCampaignPerformance:
    def test_ratios_match_hand_computed_values(self, campaign):
        ConversionFactory(campaign=campaign, value=Decimal("100.00"), timestamp=at(2025, 6, 2))
        ConversionFactory(campaign=campaign, value=Decimal("150.25"), timestamp=at(2025, 7, 10))
        report = campaign_performance(campaign=campaign)
        # 3,500 / 125,000; 1,250.50 / 3,500; 1,000 · 1,250.50 / 125,000; 1,250.50 / 175; 250.25 / 1,250.50
        assert report["ctr"] == pytest.approx(0.028)
        assert report["cpc"] == Decimal("0.3573")
        assert report["cpm"] == Decimal("10.0040")
        assert report["cpa"] == Decimal("7.1457")
        assert report["roas"] == Decimal("0.2001")
        assert report["conversion_count"] == 2
        assert report["conversion_value"] == Decimal("250.25")
        assert report["undefined"] == {}

    def test_budget_figures(self, campaign):
        budget = campaign_performance(campaign=campaign)["budget"]
        # The run 2025-06-01 .. 2025-08-31 is over: 92 days; 1,250.50 / 92 = 13.59 a day, 13.59 / 200.
        assert budget["remaining"] == Decimal("3749.50")
        assert budget["budget_used"] == pytest.approx(1250.50 / 5000)
        assert budget["days_running"] == 92
        assert budget["average_daily_spend"] == Decimal("13.59")
        assert budget["daily_budget_used"] == pytest.approx(13.59 / 200)

    def test_default_range_is_the_campaign_run(self, campaign):
        report = campaign_performance(campaign=campaign)
        assert report["date_from"] == datetime.date(2025, 6, 1)
        assert report["date_to"] == datetime.date(2025, 8, 31)
        assert report["days"] == len(report["daily"]) == 92

    def test_default_range_stops_today_and_defaults_to_30_days_without_a_start(self):
        today = datetime.date(2026, 3, 10)
        campaign = CampaignFactory(start_date=None, end_date=None)
        assert campaign_default_range(campaign, today=today) == (datetime.date(2026, 2, 9), today)

    def test_every_day_is_present_with_zeros(self, campaign):
        ConversionFactory(campaign=campaign, value=Decimal("10.00"), timestamp=at(2025, 6, 2, 8))
        ConversionFactory(campaign=campaign, value=Decimal("20.50"), timestamp=at(2025, 6, 2, 23, 59, 59))
        ConversionFactory(campaign=campaign, value=Decimal("5.00"), timestamp=at(2025, 6, 4, 0))
        ConversionFactory(campaign=campaign, value=Decimal("7.00"), timestamp=at(2025, 6, 6, 0))  # after the range
        ConversionFactory(campaign=campaign, value=Decimal("9.00"), timestamp=at(2025, 5, 31, 23, 59, 59))  # before
        ConversionFactory(value=Decimal("99.00"), timestamp=at(2025, 6, 3))  # another campaign
        report = campaign_performance(
            campaign=campaign, date_from=datetime.date(2025, 6, 1), date_to=datetime.date(2025, 6, 5)
        )
        assert [(day["date"].isoformat(), day["conversions"], day["value"]) for day in report["daily"]] == [
            ("2025-06-01", 0, Decimal("0.00")),
            ("2025-06-02", 2, Decimal("30.50")),
            ("2025-06-03", 0, Decimal("0.00")),
            ("2025-06-04", 1, Decimal("5.00")),
            ("2025-06-05", 0, Decimal("0.00")),
        ]
        assert report["period_conversion_count"] == 3
        assert report["period_conversion_value"] == Decimal("35.50")
        assert report["conversion_count"] == 5
        assert report["conversion_value"] == Decimal("51.50")

    def test_is_one_query(self, campaign, django_assert_num_queries):
        ConversionFactory(campaign=campaign, timestamp=at(2025, 6, 2))
        with django_assert_num_queries(1):
            campaign_performance(campaign=campaign)

    def test_empty_range_has_zeros(self, campaign):
        report = campaign_performance(
            campaign=campaign, date_from=datetime.date(2025, 7, 1), date_to=datetime.date(2025, 7, 3)
        )
        assert [day["conversions"] for day in report["daily"]] == [0, 0, 0]
        assert report["period_conversion_value"] == Decimal("0.00")
        assert report["roas"] == Decimal("0.0000")

    def test_single_day_range(self, campaign):
        day = datetime.date(2025, 7, 1)
        report = campaign_performance(campaign=campaign, date_from=day, date_to=day)
        assert report["days"] == 1
        assert len(report["daily"]) == 1

    def test_zero_denominators_are_null_with_a_reason(self):
        campaign = CampaignFactory(zeroed=True)
        report = campaign_performance(campaign=campaign)
        for name in ("ctr", "cpc", "cpm", "cpa", "roas"):
            assert report[name] is None
            assert report["undefined"][name]
        assert "spent" in report["undefined"]["roas"]
        assert report["budget"]["budget_used"] is None
        assert report["undefined"]["budget_used"] == "The budget is 0."
        assert report["budget"]["daily_budget_used"] is None
        assert report["undefined"]["daily_budget_used"] == "The campaign has no daily budget."

    def test_campaign_without_start_has_no_average_daily_spend(self):
        campaign = CampaignFactory(start_date=None, end_date=None, total_spend=Decimal("10.00"))
        report = campaign_performance(campaign=campaign)
        assert report["budget"]["average_daily_spend"] is None
        assert report["undefined"]["average_daily_spend"] == "The campaign has no start date."

    def test_from_after_to_is_an_error(self, campaign):
        with pytest.raises(ValidationError) as error:
            campaign_performance(
                campaign=campaign, date_from=datetime.date(2025, 7, 2), date_to=datetime.date(2025, 7, 1)
            )
        assert "from" in error.value.message_dict

    def test_too_long_a_range_is_an_error(self, campaign):
        start = datetime.date(2020, 1, 1)
        with pytest.raises(ValidationError) as error:
            campaign_performance(
                campaign=campaign, date_from=start, date_to=start + datetime.timedelta(days=MAX_RANGE_DAYS)
            )
        assert "to" in error.value.message_dict

    def test_only_from_given_runs_to_the_default_end(self, campaign):
        report = campaign_performance(campaign=campaign, date_from=datetime.date(2025, 8, 30))
        assert report["date_to"] == datetime.date(2025, 8, 31)
        assert report["days"] == 2
