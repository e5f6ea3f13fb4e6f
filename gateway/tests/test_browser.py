"""The staff console in a real browser: Debian's Chromium driven by Playwright against a live server.

Playwright's own browser downloads are never used: the tests launch ``/usr/bin/chromium`` (``.ci/run``
installs the ``chromium`` package when it is missing) and skip, saying so, where it is absent.
Screenshots of each page visited are written to ``$BROWSER_SCREENSHOTS`` when that is set.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from campaigns.factories import CampaignFactory
from media.choices import ClipStatus
from media.factories import AssetFactory, ClipFactory
from media.models import Asset, Clip
from users.factories import AdminUserFactory, UserFactory
from users.models import ApiKey
from users.services import api_key_authenticate

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_EMAIL = "admin@geminivideo.ai"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console(settings, live_server):
    """The admin as the seed leaves it: the development admin (a staff superuser with the dev password)."""
    # The live server speaks plain HTTP; production's secure-cookie settings would drop the session.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    AdminUserFactory(email=ADMIN_EMAIL, name="Admin", password=settings.DEV_ADMIN_PASSWORD)
    return live_server


@pytest.fixture
def page(browser, console, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    shots = os.environ.get("BROWSER_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{request.node.name}.png"), full_page=True)
    context.close()


def log_in(page, live_server, email=ADMIN_EMAIL, password=None):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password or settings.DEV_ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def select_action(page, label: str):
    page.select_option("select[name=action]", label=label)
    page.click("button[name=index]")


def apply_action_to_row(page, console, model: str, row_text: str, action: str, *, choose=None, fill=None):
    """Runs ``action`` on the row of ``model``'s list (``app/model``) showing ``row_text`` and applies its form,
    with the options in ``choose`` selected and the text in ``fill`` typed (each maps a field's selector to a value)."""
    page.goto(f"{console.url}/admin/{model}/")
    page.locator("#result_list tbody tr", has_text=row_text).locator("input.action-select").check()
    select_action(page, action)
    for selector, value in (choose or {}).items():
        page.select_option(selector, value)
    for selector, value in (fill or {}).items():
        page.fill(selector, value)
    page.click("input[name=apply]")


def test_admin_logs_in_with_email(page, console):
    log_in(page, console, email=ADMIN_EMAIL.upper())
    assert page.locator("#site-name").inner_text() == "GeminiVideo staff console"
    assert page.locator("#content-main a[href='/admin/media/clip/']").count() >= 1


def test_non_staff_is_refused(page, console):
    UserFactory(email="customer@example.com", password="s3cret-pass")
    page.goto(f"{console.url}/admin/")
    page.fill("#id_username", "customer@example.com")
    page.fill("#id_password", "s3cret-pass")
    page.click("input[type=submit]")
    assert "correct email and password for a staff account" in page.locator(".errornote").inner_text()


def test_filter_clips_by_status(page, console):
    asset = AssetFactory(original_name="launch.mp4")
    rejected = ClipFactory(asset=asset, status=ClipStatus.REJECTED)
    ClipFactory.create_batch(2, asset=asset, status=ClipStatus.SCORED)
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/clip/")
    assert page.locator("#result_list tbody tr").count() == 3
    page.locator("#changelist-filter").get_by_role("link", name="Rejected").click()
    page.wait_for_url(re.compile(r"status__exact=REJECTED"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert str(rejected.pk)[:8] in rows.first.inner_text()


def test_owner_filter_takes_an_email(page, console):
    owner = UserFactory(email="olivia@example.com")
    ClipFactory(asset=AssetFactory(user=owner))
    ClipFactory()
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/clip/")
    page.fill(".gv-input-filter input[name=owner]", "olivia@example.com")
    page.press(".gv-input-filter input[name=owner]", "Enter")
    page.wait_for_url(re.compile(r"owner=olivia"))
    assert page.locator("#result_list tbody tr").count() == 1


def test_asset_page_shows_its_clips(page, console):
    asset = AssetFactory(original_name="teaser.mp4")
    clips = ClipFactory.create_batch(3, asset=asset)
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/asset/")
    page.get_by_role("link", name="teaser.mp4").first.click()
    page.wait_for_url(re.compile(rf"/admin/media/asset/{asset.pk}/change/"))
    inline = page.locator("#clips-group")
    assert inline.locator("h2").inner_text().lower() == "clips"
    text = inline.inner_text()
    for clip in clips:
        assert str(clip.pk)[:8] in text
    assert page.get_by_role("link", name="All clips of this asset →").count() == 1


def test_restore_action(page, console):
    asset = AssetFactory(original_name="archived-cut.mp4")
    ClipFactory(asset=asset)
    asset.soft_delete()
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/asset/")
    assert page.get_by_text("archived-cut.mp4").count() == 0
    page.locator("#changelist-filter").get_by_role("link", name="Deleted", exact=True).click()
    page.wait_for_url(re.compile(r"deleted=yes"))
    row = page.locator("#result_list tbody tr", has_text="archived-cut.mp4")
    assert "deleted" in row.inner_text()
    row.locator("input.action-select").check()
    select_action(page, "Restore selected assets")
    assert "Restored 1 asset." in page.locator(".messagelist").inner_text()
    assert Asset.objects.filter(pk=asset.pk).exists()
    assert Clip.objects.filter(asset=asset).count() == 1


def test_change_status_action(page, console):
    asset = AssetFactory(original_name="ready.mp4")
    log_in(page, console)
    choose = {"select[name=status]": "ARCHIVED"}
    apply_action_to_row(page, console, "media/asset", "ready.mp4", "Change status of selected assets", choose=choose)
    assert "Change asset status: done for 1 asset." in page.locator(".messagelist").inner_text()
    asset.refresh_from_db()
    assert asset.status == "ARCHIVED"


def test_issue_api_key_shows_the_secret_once(page, console):
    owner = UserFactory(email="partner@example.com")
    log_in(page, console)
    action = "Issue an API key to the selected user"
    apply_action_to_row(
        page, console, "users/user", "partner@example.com", action, fill={"input[name=name]": "Partner sync"}
    )
    secret = page.locator("#api-key-secret").inner_text().strip()
    assert "shown this once" in page.locator("#content-main").inner_text()
    api_key = ApiKey.objects.get(user=owner, name="Partner sync")
    assert api_key_authenticate(secret) == api_key
    page.get_by_role("link", name="Done: view the key").click()
    page.wait_for_url(re.compile(rf"/admin/users/apikey/{api_key.pk}/change/"))
    assert api_key.prefix in page.content()
    assert secret not in page.content()


def test_campaign_page_shows_computed_performance(page, console):
    campaign = CampaignFactory(name="Spring sale", total_spend=100, total_impressions=1000, total_clicks=50)
    log_in(page, console)
    page.goto(f"{console.url}/admin/campaigns/campaign/")
    row = page.locator("#result_list tbody tr", has_text="Spring sale")
    assert "5.00%" in row.inner_text()
    row.get_by_role("link", name="Spring sale").click()
    page.wait_for_url(re.compile(rf"/admin/campaigns/campaign/{campaign.pk}/change/"))
    assert page.locator("h2", has_text="Totals").count() == 1
