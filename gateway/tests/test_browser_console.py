"""The staff console's header search and its changelists on a 1,366-pixel screen, in a real browser.

Reuses the fixtures of ``gateway/tests/test_browser.py`` (Debian's Chromium driven by Playwright against a live
server); screenshots of each page go to ``$BROWSER_SCREENSHOTS`` when that is set.
"""

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from gateway.tests import test_browser
from gateway.tests.test_browser import CHROMIUM, log_in
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from users.factories import ApiKeyFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]

# The fixtures of the console's other browser tests: Chromium, and the live server with the development admin.
browser, console = test_browser.browser, test_browser.console

# A common laptop screen: every changelist must fit it without a horizontal scroll bar.
SCREEN = {"width": 1366, "height": 768}


def changelist_paths() -> list[str]:
    """Every changelist of the console; soft-deleted rows shown too (their "deleted" column with them)."""
    paths = []
    for model in admin.site._registry:
        path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        paths.append(path)
        if any(field.name == "deleted_at" for field in model._meta.get_fields()):
            paths.append(f"{path}?deleted=all")
    # The knowledge list while searching: its rank and snippet columns.
    paths.append("/admin/knowledge/knowledgedocument/?q=budget+pacing")
    return sorted(paths)


@pytest.fixture
def page(browser, console, request):
    """A page on a 1,366-pixel-wide screen, logged in as the development admin."""
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, console)
    yield page
    shots = os.environ.get("BROWSER_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def wide_rows():
    """Rows of every model with long names, emails and big figures: the widest a list usually gets."""
    owner = UserFactory(email="olivia.martinez-fernandez@enterprise-customer.example.com", name="Olivia Martínez")
    asset = AssetFactory(
        user=owner, original_name="spring-collection-launch-teaser-final-v3.mp4", file_size=4_800_000_000
    )
    clip = ClipFactory(asset=asset, start_time=80, end_time=95)
    PredictionFactory(clip=clip, model_version="roas-gbm-2026.11.3", actual_roas=3.42)
    PerformanceMetricFactory(
        asset=asset, impressions=12_345_678, clicks=456_789, spend="123456.78", revenue="987654.32"
    )
    campaign = CampaignFactory(
        user=owner,
        name="Spring collection launch: always-on prospecting",
        budget=Decimal("5000000.00"),
        daily_budget=Decimal("25000.00"),
        total_spend=Decimal("1234567.89"),
        total_impressions=123_456_789,
        total_clicks=2_345_678,
        total_conversions=123_456,
        meta_campaign_id="120201234567890123",
    )
    ExperimentFactory(campaign=campaign, name="Hook A/B: product first vs. testimonial first")
    ConversionFactory(
        campaign=campaign, attributed_clip=clip, value=Decimal("12345.67"), external_id="order-2026-11-30-0001"
    )
    KnowledgeDocumentFactory(
        name="Daily Budget Pacing for Always-On Campaigns",
        category="budget-and-bidding",
        tags=["meta", "budget", "pacing", "always-on"],
        author="Performance Marketing Team",
    )
    ApiKeyFactory(
        user=owner,
        name="Nightly export to the data warehouse",
        expires_at=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC),
    )
    return {"owner": owner, "asset": asset, "clip": clip, "campaign": campaign}


def overflow(page) -> dict:
    """How much wider than their box the result table and the page are (0 when they fit)."""
    return page.evaluate(
        """() => {
            const results = document.querySelector('#changelist .results');
            const page = document.documentElement;
            return {
                table: results ? results.scrollWidth - results.clientWidth : 0,
                page: page.scrollWidth - page.clientWidth,
            };
        }"""
    )


@pytest.mark.parametrize("path", changelist_paths())
def test_changelist_fits_a_1366_pixel_screen(page, console, wide_rows, path):
    page.goto(f"{console.url}{path}")
    assert page.locator("#result_list tbody tr").count() >= 1 or page.locator("#changelist").count() == 1
    assert overflow(page) == {"table": 0, "page": 0}


def search_from_the_header(page, term: str):
    page.fill("#gv-global-search input[name=q]", term)
    page.press("#gv-global-search input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/admin/search/\?q="))


def test_global_search_finds_a_user_and_their_rows_by_email(page, console, wide_rows):
    page.goto(f"{console.url}/admin/media/clip/")
    search_from_the_header(page, wide_rows["owner"].email.upper())
    assert page.locator("#hits-users-user li").inner_text().startswith(wide_rows["owner"].email)
    page.locator("#hits-users-user a").first.click()
    page.wait_for_url(re.compile(rf"/admin/users/user/{wide_rows['owner'].pk}/change/"))
    page.get_by_role("link", name="Assets", exact=True).click()
    page.wait_for_url(re.compile(rf"/admin/media/asset/\?owner={wide_rows['owner'].pk}"))
    assert page.locator("#result_list tbody tr").count() == 1


def test_global_search_groups_name_hits_by_model(page, console, wide_rows):
    search_from_the_header(page, "spring")
    groups = [group.lower() for group in page.locator(".gv-hit-group h2").all_inner_texts()]
    assert {"campaigns", "assets"} <= set(groups)
    assert groups.index("campaigns") < groups.index("assets")  # apps in order: campaigns, knowledge, media
    assert overflow(page)["page"] == 0


def test_global_search_finds_a_clip_by_short_id_with_its_human_title(page, console, wide_rows):
    clip = wide_rows["clip"]
    search_from_the_header(page, str(clip.pk)[:8])
    page.get_by_role("link", name="spring-collection-launch-teaser-final-v3.mp4 [80s–95s]").click()
    page.wait_for_url(re.compile(rf"/admin/media/clip/{clip.pk}/change/"))
    assert "spring-collection-launch-teaser-final-v3.mp4 [80s–95s]" in page.locator(".breadcrumbs").inner_text()
