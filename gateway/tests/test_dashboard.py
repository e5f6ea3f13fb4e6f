"""The console's home page (``gateway.admin.dashboard`` and what the apps register into it)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.choices import ExperimentStatus
from campaigns.factories import ExperimentFactory
from campaigns.models import Experiment
from gateway.admin.dashboard import QUEUE_COUNT_LIMIT, Figure, capped_count, periods
from gateway.tests.admin_helpers import same_query_count, staff_user
from knowledge.choices import EmbeddingState
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeDocument
from media.choices import AssetStatus, ClipStatus
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory
from media.models import Asset

pytestmark = pytest.mark.django_db

HOME = "/admin/"


def day(offset: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=offset)


def metric(offset: int, *, spend, revenue=0, impressions=1000, clicks=0, conversions=0, asset=None):
    return PerformanceMetricFactory(
        asset=asset or AssetFactory(),
        date=day(offset),
        spend=Decimal(spend),
        revenue=Decimal(revenue),
        impressions=impressions,
        clicks=clicks,
        conversions=conversions,
    )


@pytest.fixture
def business():
    """Known daily metrics: today, yesterday, 3 days ago (this week), 10 days ago (the week before),
    40 days ago (the 30 days before), 70 days ago (outside every period)."""
    metric(0, spend="100.00", revenue="300.00", clicks=50, conversions=5)
    metric(1, spend="50.00", revenue="100.00", clicks=20, conversions=2)
    metric(3, spend="10.00", revenue="0.00", clicks=10, conversions=1)
    metric(10, spend="40.00", revenue="80.00", clicks=40, conversions=4)
    metric(40, spend="200.00", revenue="100.00", clicks=100, conversions=10)
    metric(70, spend="999.00", revenue="999.00", clicks=999, conversions=99)


def tile(response, label: str) -> dict:
    (section,) = response.context["kpi_sections"]
    return {row["period"]: row for row in next(t for t in section["tiles"] if t["label"] == label)["rows"]}


def queue(response, label: str) -> dict:
    return next(row for row in response.context["queues"] if row["label"] == label)


class TestPeriods:
    def test_each_period_ends_today_and_is_compared_with_as_many_days_before(self):
        today = datetime.date(2026, 3, 31)
        shown = {period.label: period for period in periods(today)}
        week = shown["7 days"]
        assert (week.start, week.end) == (datetime.date(2026, 3, 25), today)
        assert (week.previous_start, week.previous_end) == (datetime.date(2026, 3, 18), datetime.date(2026, 3, 24))
        assert (shown["Today"].previous_start, shown["Today"].previous_end) == (datetime.date(2026, 3, 30),) * 2

    def test_change_is_relative_to_the_period_before(self):
        assert Figure(150, 100).change == pytest.approx(0.5)
        assert Figure(50, 100).change == pytest.approx(-0.5)

    def test_no_change_without_a_period_before(self):
        assert Figure(150, 0).change is None
        assert Figure(None, 10).change is None


class TestKpiTiles:
    def test_spend_over_each_period_against_the_one_before(self, admin_client, business):
        spend = tile(admin_client.get(HOME), "Spend")
        assert (spend["Today"]["value"], spend["Today"]["previous"], spend["Today"]["change"]) == (
            "100.00",
            "50.00",
            "+100.0%",
        )
        assert (spend["7 days"]["value"], spend["7 days"]["previous"]) == ("160.00", "40.00")
        assert spend["7 days"]["change"] == "+300.0%"
        assert (spend["30 days"]["value"], spend["30 days"]["previous"]) == ("200.00", "200.00")
        assert spend["30 days"]["change"] == "+0.0%"

    def test_spend_going_up_is_neither_good_nor_bad_news(self, admin_client, business):
        assert tile(admin_client.get(HOME), "Spend")["Today"]["trend"] == "flat"

    def test_roas_is_revenue_over_spend_of_the_period(self, admin_client, business):
        roas = tile(admin_client.get(HOME), "ROAS")
        assert (roas["Today"]["value"], roas["Today"]["previous"]) == ("3.00×", "2.00×")
        assert roas["Today"]["trend"] == "good"
        # 30 days: 480 / 200 against 100 / 200.
        assert (roas["30 days"]["value"], roas["30 days"]["previous"]) == ("2.40×", "0.50×")

    def test_conversions_and_ctr_of_the_week(self, admin_client, business):
        response = admin_client.get(HOME)
        assert tile(response, "Conversions")["7 days"]["value"] == "8"
        assert tile(response, "Conversions")["7 days"]["previous"] == "4"
        # 80 clicks of 3,000 impressions against 40 of 1,000: down, which is bad news.
        ctr = tile(response, "CTR")["7 days"]
        assert (ctr["value"], ctr["previous"], ctr["trend"]) == ("2.67%", "4.00%", "bad")

    def test_a_period_without_rows_before_it_has_no_trend(self, admin_client):
        metric(0, spend="10.00")
        today = tile(admin_client.get(HOME), "Revenue")["Today"]
        assert (today["value"], today["change"], today["trend"]) == ("0.00", "no data before", "none")

    def test_without_metrics_the_section_says_where_they_come_from(self, admin_client):
        (section,) = admin_client.get(HOME).context["kpi_sections"]
        assert "No metrics in these days yet" in section["note"]

    def test_the_daily_chart_has_a_point_per_day_with_metrics(self, admin_client, business):
        content = admin_client.get(HOME).content.decode()
        assert f'data-label="{day(0).isoformat()}" data-value="100.0"' in content
        assert f'data-label="{day(40).isoformat()}"' not in content


class TestWorkQueues:
    def test_failed_assets_link_to_the_failed_changelist(self, admin_client):
        failed = AssetFactory.create_batch(2, status=AssetStatus.FAILED)
        AssetFactory(status=AssetStatus.READY)
        row = queue(admin_client.get(HOME), "Assets that failed processing")
        assert row["count"] == 2
        listed = admin_client.get(row["url"]).context["cl"].result_list
        assert {asset.pk for asset in listed} == {asset.pk for asset in failed}

    def test_assets_processing_for_over_an_hour_are_stuck(self, admin_client):
        stuck, recent = AssetFactory.create_batch(2, status=AssetStatus.PROCESSING)
        Asset.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=2))
        row = queue(admin_client.get(HOME), "Assets stuck in processing")
        assert row["count"] == 1
        listed = admin_client.get(row["url"]).context["cl"].result_list
        assert [asset.pk for asset in listed] == [stuck.pk]

    def test_clips_awaiting_scores_are_pending_or_analyzed(self, admin_client):
        waiting = [ClipFactory(status=ClipStatus.PENDING), ClipFactory(status=ClipStatus.ANALYZED)]
        ClipFactory(status=ClipStatus.SCORED)
        row = queue(admin_client.get(HOME), "Clips awaiting scores")
        assert row["count"] == 2
        listed = admin_client.get(row["url"]).context["cl"].result_list
        assert {clip.pk for clip in listed} == {clip.pk for clip in waiting}

    def test_documents_whose_embedding_failed(self, admin_client):
        failed = KnowledgeDocumentFactory()
        KnowledgeDocument.objects.filter(pk=failed.pk).update(embedding_state=EmbeddingState.FAILED)
        KnowledgeDocumentFactory()
        row = queue(admin_client.get(HOME), "Knowledge documents whose embedding failed")
        assert row["count"] == 1
        listed = admin_client.get(row["url"]).context["cl"].result_list
        assert [document.pk for document in listed] == [failed.pk]

    def test_soft_deleted_rows_wait_for_nobody(self, admin_client):
        AssetFactory(status=AssetStatus.FAILED).soft_delete()
        assert queue(admin_client.get(HOME), "Assets that failed processing")["count"] == 0

    def test_counts_stop_past_the_limit(self):
        AssetFactory.create_batch(3, status=AssetStatus.FAILED)
        assert capped_count(Asset.objects.failed(), limit=2) == (3, "2+")
        assert capped_count(Asset.objects.failed(), limit=QUEUE_COUNT_LIMIT) == (3, "3")


class TestRunningExperiments:
    def test_running_experiments_show_their_leader_and_confidence(self, admin_client):
        ExperimentFactory(name="Hooks", confidence=0.91)
        ExperimentFactory(name="Drafted", status=ExperimentStatus.DRAFT)
        content = admin_client.get(HOME).content.decode()
        assert "Hooks" in content
        assert "variant-b (0.40%)" in content
        assert "91.0%" in content
        assert "Drafted" not in content

    def test_highest_confidence_first(self, admin_client):
        ExperimentFactory(name="Unsure", confidence=0.5)
        ExperimentFactory(name="Nearly decided", confidence=0.94)
        ExperimentFactory(name="Never evaluated", confidence=None)
        rows = list(Experiment.objects.running_leaders(limit=10))
        assert [row.name for row in rows] == ["Nearly decided", "Unsure", "Never evaluated"]


class TestScoping:
    def test_staff_see_only_the_pieces_of_models_they_may_view(self, client):
        client.force_login(staff_user("media.view_asset"))
        AssetFactory(status=AssetStatus.FAILED)
        ExperimentFactory(name="Hooks")
        response = client.get(HOME)
        assert response.status_code == 200
        assert response.context["kpi_sections"] == []
        assert [row["label"] for row in response.context["queues"]] == [
            "Assets that failed processing",
            "Assets stuck in processing",
        ]
        assert "Running experiments" not in response.content.decode()

    def test_staff_with_view_permission_on_metrics_see_the_kpis(self, client, business):
        client.force_login(staff_user("media.view_performancemetric"))
        response = client.get(HOME)
        assert tile(response, "Spend")["Today"]["value"] == "100.00"
        assert response.context["queues"] == []


class TestHomePage:
    def test_the_model_list_stays_below_the_dashboard(self, admin_client):
        content = admin_client.get(HOME).content.decode()
        assert content.index('id="gv-dashboard"') < content.index('href="/admin/media/clip/"')

    def test_a_fixed_number_of_queries_however_many_rows(self, admin_client, business):
        with same_query_count(admin_client, HOME):
            metric(5, spend="1.00")
            AssetFactory.create_batch(3, status=AssetStatus.FAILED)
            ClipFactory.create_batch(3, status=ClipStatus.PENDING)
            ExperimentFactory.create_batch(3, confidence=0.7)
