"""The History page in a real browser: a change made through the API, then read in the staff console.

Chromium and the fixtures (``browser``, ``console``, ``page`` with its screenshot, ``log_in``) are those of
``test_browser.py``.
"""

import pytest

from campaigns.factories import CampaignFactory
from gateway.tests.test_browser import browser, console, log_in, page  # noqa: F401 - the fixtures, reused
from users.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_api_change_is_on_the_rows_history_page(page, console):  # noqa: F811 - the fixtures
    owner = UserFactory(email="owner@example.com")
    key = ApiKeyFactory(user=owner)
    campaign = CampaignFactory(user=owner, name="Spring sale", budget="1000.00", daily_budget="100.00")

    answer = page.request.patch(
        f"{console.url}/api/v1/campaigns/{campaign.pk}/",
        data={"budget": "2500.00"},
        headers={"Authorization": f"Api-Key {key.secret}", "X-Request-ID": "req-browser-history"},
    )
    assert answer.status == 200, answer.text()

    log_in(page, console)
    page.goto(f"{console.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    page.click("a.historylink")
    page.wait_for_url(f"**/admin/campaigns/campaign/{campaign.pk}/history/")

    newest = page.locator("tr.gv-history-event").first
    assert newest.get_attribute("data-event") == "update"
    diff = newest.locator("table.gv-history-diff tr", has_text="budget")
    assert diff.locator(".gv-old").inner_text() == "1000.00"
    assert diff.locator(".gv-new").inner_text() == "2500.00"
    assert "owner@example.com" in newest.locator(".gv-history-actor").inner_text()
    assert key.prefix in newest.locator(".gv-history-actor").inner_text()
    assert newest.locator(".gv-history-request").inner_text() == "req-browser-history"
    assert page.locator("tr.gv-history-event").last.get_attribute("data-event") == "insert"
