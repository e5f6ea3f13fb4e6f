"""Importing clips' scores in the staff console (media/resources.py): dry run, bad rows, skipping them, the service."""

import io

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from gateway.models import ImportUpload
from gateway.tests.admin_helpers import messages_of, staff_user
from gateway.tests.transfer_helpers import XLSX, confirm, csv_file, export, upload
from media.choices import ClipStatus
from media.factories import ClipFactory
from media.models import Clip

pytestmark = pytest.mark.django_db

SCORES_HEADER = ["id", "score", "viral_score", "rank", "status"]


class TestImportClipScores:
    def test_dry_run_shows_the_changes_and_writes_nothing(self, admin_client):
        clip = ClipFactory(score=0.2, status=ClipStatus.PENDING)
        unchanged = ClipFactory(score=0.5, viral_score=None, rank=None)
        file = csv_file([SCORES_HEADER, [clip.pk, "0.9", "", "", ""], [unchanged.pk, "0.5", "", "", unchanged.status]])
        response = upload(admin_client, Clip, file)
        assert response.status_code == 200
        rows = response.context["result"].rows
        assert [row.import_type for row in rows] == ["update", "skip"]
        # The preview shows the service's doing: the PENDING clip given a score would be SCORED.
        assert "SCORED" in rows[0].diff[-1]
        assert response.context["confirm_form"] is not None
        clip.refresh_from_db()
        assert (clip.score, clip.status) == (0.2, ClipStatus.PENDING)

    def test_an_empty_cell_clears_a_score_and_leaves_the_status(self, admin_client):
        clip = ClipFactory(score=0.3, viral_score=0.4, status=ClipStatus.PUBLISHED)
        file = csv_file([["id", "score", "viral_score", "status"], [clip.pk, "0.3", "", ""]])
        confirm(admin_client, Clip, upload(admin_client, Clip, file))
        clip.refresh_from_db()
        assert (clip.score, clip.viral_score, clip.status) == (0.3, None, ClipStatus.PUBLISHED)

    def test_confirmed_import_writes_through_clip_set_scores(self, admin_client):
        clip = ClipFactory(score=None, status=ClipStatus.PENDING)
        response = upload(admin_client, Clip, csv_file([["id", "score"], [clip.pk, "0.75"]]))
        response = confirm(admin_client, Clip, response)
        assert "Import finished: 0 new, 1 updated" in " ".join(messages_of(response))
        clip.refresh_from_db()
        # A PENDING clip given a score becomes SCORED: the service's rule, as through the API.
        assert (clip.score, clip.status) == (0.75, ClipStatus.SCORED)
        assert not ImportUpload.objects.exists()
        assert LogEntry.objects.get(object_id=str(clip.pk)).get_change_message() == "update through import_export"

    def test_bad_rows_are_listed_with_line_and_message_and_nothing_is_written(self, admin_client):
        good, bad_score, bad_status = ClipFactory(score=0.1), ClipFactory(score=0.1), ClipFactory(score=0.1)
        file = csv_file([
            ["id", "score", "status"],
            [good.pk, "0.6", good.status],
            [bad_score.pk, "1.5", bad_score.status],
            [bad_status.pk, "0.2", "PUBLISHED-ISH"],
            ["not-an-id", "0.2", ""],
        ])  # fmt: skip
        response = upload(admin_client, Clip, file)
        page = response.content.decode()
        invalid = {row.number + 1: row.error_dict for row in response.context["result"].invalid_rows}
        assert sorted(invalid) == [3, 4, 5]
        assert invalid[3]["score"] == ["Ensure this value is less than or equal to 1.0."]
        assert "status" in invalid[4]
        assert invalid[5]["id"] == ["No clip with id not-an-id exists."]
        assert "Ensure this value is less than or equal to 1.0." in page and "<td>3</td>" in page
        assert response.context.get("confirm_form") is None
        good.refresh_from_db()
        assert good.score == 0.1

    def test_skipping_the_bad_rows_writes_the_good_ones_through_the_service(self, admin_client):
        good, bad = ClipFactory(score=None, status=ClipStatus.ANALYZED), ClipFactory(score=0.1)
        file = csv_file([["id", "score"], [good.pk, "0.6"], [bad.pk, "-1"]])
        response = confirm(admin_client, Clip, upload(admin_client, Clip, file), skip_bad_rows=True)
        assert "Skipped 1 bad row, as chosen: not written." in messages_of(response)
        good.refresh_from_db()
        bad.refresh_from_db()
        assert (good.score, good.status, bad.score) == (0.6, ClipStatus.SCORED, 0.1)

    def test_an_exported_xlsx_comes_back_with_its_corrections(self, admin_client):
        clips = ClipFactory.create_batch(2, score=0.2, status=ClipStatus.SCORED)
        workbook = openpyxl.load_workbook(io.BytesIO(export(admin_client, Clip, file_format=XLSX).content))
        sheet = workbook.active
        header = [cell.value for cell in sheet[1]]
        target = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == str(clips[0].pk))
        target[header.index("score")].value = 0.95
        target[header.index("status")].value = "PUBLISHED"
        output = io.BytesIO()
        workbook.save(output)
        file = SimpleUploadedFile("clips.xlsx", output.getvalue())
        dry = upload(admin_client, Clip, file, XLSX)
        assert sorted(row.import_type for row in dry.context["result"].rows) == ["skip", "update"]
        confirm(admin_client, Clip, dry)
        clips[0].refresh_from_db()
        assert (clips[0].score, clips[0].status) == (0.95, ClipStatus.PUBLISHED)

    def test_a_row_failing_at_confirmation_writes_nothing(self, admin_client):
        first, second = ClipFactory(score=0.1), ClipFactory(score=0.1)
        response = upload(admin_client, Clip, csv_file([["id", "score"], [first.pk, "0.3"], [second.pk, "0.4"]]))
        second.soft_delete()
        Clip.all_objects.filter(pk=second.pk).delete()
        response = confirm(admin_client, Clip, response)
        assert "Nothing was written" in " ".join(messages_of(response))
        first.refresh_from_db()
        assert first.score == 0.1

    def test_blank_lines_are_unchanged_and_keep_the_line_numbers(self, admin_client):
        clip = ClipFactory(score=0.1)
        file = csv_file([["id", "score"], ["", ""], [clip.pk, "7"], [",", ""]])
        result = upload(admin_client, Clip, file).context["result"]
        assert [row.import_type for row in result.rows] == ["skip", "invalid", "invalid"]
        assert [row.number + 1 for row in result.invalid_rows] == [3, 4]

    def test_import_needs_the_change_permission(self, client):
        client.force_login(staff_user("media.view_clip"))
        response = upload(client, Clip, csv_file([["id", "score"]]))
        assert response.status_code == 403
