"""The console's home page and an experiment's page in a real browser (the fixtures of ``test_browser``).

Screenshots of each page visited are written to ``$BROWSER_SCREENSHOTS`` when that is set.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.choices import ExperimentStatus
from campaigns.factories import ExperimentFactory
from campaigns.models import Experiment
from gateway.tests import test_browser
from gateway.tests.test_browser import CHROMIUM, log_in
from media.choices import AssetStatus, ClipStatus
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory

# The browser, the live console with the development admin, and a page that leaves a screenshot.
browser, console, page = test_browser.browser, test_browser.console, test_browser.page

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def business():
    """A month of daily metrics, failed assets, clips awaiting scores and a running experiment."""
    asset = AssetFactory(original_name="launch.mp4")
    today = timezone.localdate()
    for offset in range(60):
        PerformanceMetricFactory(
            asset=asset,
            date=today - datetime.timedelta(days=offset),
            spend=Decimal(100 + offset),
            revenue=Decimal(300 + 3 * (offset % 7) * 10),
            impressions=10_000,
            clicks=300 + offset,
            conversions=10 + offset % 5,
        )
    AssetFactory.create_batch(2, status=AssetStatus.FAILED)
    ClipFactory.create_batch(3, asset=asset, status=ClipStatus.ANALYZED)
    ExperimentFactory(name="Hook test", confidence=0.87)


def test_dashboard_shows_the_business(page, console, business):
    log_in(page, console)
    tiles = page.locator(".gv-tile")
    assert tiles.count() == 5
    spend_today = page.locator(".gv-tile[data-kpi='Spend'] tr[data-period='Today'] .gv-kpi-value")
    assert spend_today.inner_text().splitlines() == ["100.00", "▼ -1.0%"]
    assert page.locator(".gv-dashboard-chart svg.line-chart circle.point").count() == 60
    assert "variant-b" in page.locator(".gv-experiments tr.gv-experiment", has_text="Hook test").inner_text()
    assert page.locator("#content-main a[href='/admin/media/clip/']").count() >= 1  # the model list, below
    assert (
        page.locator(".gv-queue", has_text="Assets that failed processing").locator(".gv-queue-count").inner_text()
        == "2"
    )


def test_a_work_queue_links_to_its_filtered_changelist(page, console, business):
    log_in(page, console)
    page.locator(".gv-queues a", has_text="Clips awaiting scores").click()
    page.wait_for_url("**/admin/media/clip/?status__in=*")
    assert page.locator("#result_list tbody tr").count() == 3


def test_a_bad_variant_row_shows_the_apis_message_next_to_its_field(page, console):
    experiment = ExperimentFactory(name="Thumbnail test", status=ExperimentStatus.DRAFT)
    log_in(page, console)
    page.goto(f"{console.url}/admin/campaigns/experiment/{experiment.pk}/change/")
    page.fill("input[name='variants-1-id']", "variant-a")
    page.fill("input[name='variants-2-id']", "variant-c")
    page.click("input[name='_continue']")
    assert page.locator("tr.gv-row[data-row='1'] td.field-id .errorlist").inner_text() == (
        "Variant id 'variant-a' is used twice."
    )
    assert page.locator("tr.gv-row[data-row='2'] td.field-name .errorlist").inner_text() == "Variant 2 needs a name."
    assert Experiment.objects.get(pk=experiment.pk).variants == experiment.variants


def test_variant_rows_are_saved(page, console):
    experiment = ExperimentFactory(name="Thumbnail test", status=ExperimentStatus.DRAFT)
    log_in(page, console)
    page.goto(f"{console.url}/admin/campaigns/experiment/{experiment.pk}/change/")
    page.fill("input[name='variants-1-id']", "variant-c")
    page.fill("input[name='variants-1-impressions']", "12000")
    page.fill("input[name='variants-2-id']", "variant-d")
    page.fill("input[name='variants-2-name']", "Variant D")
    page.click("input[name='_continue']")
    page.wait_for_selector(".messagelist .success")
    experiment = Experiment.objects.get(pk=experiment.pk)
    assert [(variant["id"], variant.get("impressions")) for variant in experiment.variants] == [
        ("variant-a", 10_000),
        ("variant-c", 12_000),
        ("variant-d", None),
    ]


def test_select_winner_from_the_experiment_page(page, console):
    experiment = ExperimentFactory(
        name="Headline test",
        variants=[
            {"id": "control", "name": "Control", "impressions": 10_000, "clicks": 300, "conversions": 100},
            {"id": "bold", "name": "Bold", "impressions": 10_000, "clicks": 350, "conversions": 160},
        ],
    )
    log_in(page, console)
    page.goto(f"{console.url}/admin/campaigns/experiment/{experiment.pk}/change/")
    page.click("a.gv-select-winner")
    assert page.locator("select[name='variant_id']").input_value() == "bold"
    assert float(page.locator("input[name='confidence']").input_value()) > 0.95
    page.click("input[name=apply]")
    page.wait_for_url(f"**/admin/campaigns/experiment/{experiment.pk}/change/")
    assert "the winner is 'bold'" in page.locator(".field-result").inner_text()
