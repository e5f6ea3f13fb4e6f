"""Export and import in the staff console, in a real browser (the fixtures of gateway/tests/test_browser.py).

Screenshots of the export form, the dry run with its bad row, the list after the import and the Exports page
with a large export built by a real worker are written to ``$BROWSER_SCREENSHOTS`` when that is set.
"""

import os
import re
from pathlib import Path

import pytest

from gateway.tests.job_helpers import run_worker_once
from gateway.tests.test_browser import CHROMIUM, browser, console, log_in, page  # noqa: F401 (fixtures)
from gateway.tests.transfer_helpers import csv_rows, xlsx_rows
from media.choices import ClipStatus
from media.factories import ClipFactory
from media.models import Clip

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]


def screenshot(page, request, step: str) -> None:  # noqa: F811 (the page fixture, passed in)
    shots = os.environ.get("BROWSER_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{request.node.name}-{step}.png"), full_page=True)


def test_export_a_filtered_clip_list_as_csv(page, console, request):  # noqa: F811
    rejected = ClipFactory.create_batch(2, status=ClipStatus.REJECTED)
    ClipFactory.create_batch(3, status=ClipStatus.SCORED)
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/clip/")
    page.locator("#changelist-filter").get_by_role("link", name="Rejected").click()
    page.wait_for_url(re.compile(r"status__exact=REJECTED"))
    page.get_by_role("link", name="Export", exact=True).click()
    page.wait_for_url(re.compile(r"/export/\?status__exact=REJECTED"))
    page.select_option("#id_format", label="csv")
    screenshot(page, request, "form")
    with page.expect_download() as download:
        page.get_by_role("button", name="Submit").click()
    rows = csv_rows(Path(download.value.path()).read_bytes())
    assert sorted(row["id"] for row in rows) == sorted(str(clip.pk) for clip in rejected)


def test_import_scores_with_a_bad_row_then_skip_it(page, console, request, tmp_path):  # noqa: F811
    good, bad = ClipFactory(score=0.1), ClipFactory(score=0.1)
    file = tmp_path / "scores.csv"
    file.write_text(f"id,score\n{good.pk},0.8\n{bad.pk},1.7\n")
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/clip/")
    page.get_by_role("link", name="Import", exact=True).click()
    page.set_input_files("#id_import_file", str(file))
    page.select_option("#id_format", label="csv")
    page.get_by_role("button", name="Submit").click()
    bad_rows = page.locator("table.gv-bad-rows tbody tr")
    bad_rows.first.wait_for()
    assert bad_rows.count() == 1
    assert bad_rows.first.locator("td").first.inner_text() == "3"
    assert "Ensure this value is less than or equal to 1.0." in bad_rows.first.inner_text()
    screenshot(page, request, "dry-run")
    good.refresh_from_db()
    assert good.score == 0.1
    page.get_by_role("button", name="Skip the 1 bad row and import the others").click()
    page.wait_for_url(f"{console.url}/admin/media/clip/")
    assert "1 updated" in page.locator(".messagelist").inner_text()
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.score, bad.score) == (0.8, 0.1)
    assert Clip.objects.filter(score=0.8).count() == 1


def test_a_large_export_is_offered_on_the_exports_page(page, console, request, settings, empty_queue):  # noqa: F811
    settings.ADMIN_EXPORT_SYNC_ROWS = 2
    clips = ClipFactory.create_batch(3, status=ClipStatus.SCORED)
    log_in(page, console)
    page.goto(f"{console.url}/admin/media/clip/export/")
    page.select_option("#id_format", label="xlsx")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"{console.url}/admin/media/clip/")
    assert "being prepared in the background" in page.locator(".messagelist").inner_text()
    run_worker_once()
    page.locator(".messagelist").get_by_role("link", name="Exports").click()
    screenshot(page, request, "exports")
    with page.expect_download() as download:
        page.locator("a.gv-download").first.click()
    rows = xlsx_rows(Path(download.value.path()).read_bytes())
    assert sorted(row["id"] for row in rows) == sorted(str(clip.pk) for clip in clips)
