"""Export and import of changelists in the staff console (gateway/admin/transfer.py, each app's resources.py).

The exports of every list, the export job, the Exports page and the files an import refuses are tested here;
what each import writes, with its app: media/tests/test_resources.py, campaigns/tests/test_resources.py.
"""

import io
from contextlib import contextmanager

import openpyxl
import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from procrastinate.contrib.django.utils import connector_params

from campaigns.factories import CampaignFactory, ConversionFactory
from campaigns.models import Campaign, Conversion
from gateway.models import AdminExport, ExportState, ImportUpload
from gateway.tests.admin_helpers import changelist_url, messages_of, staff_user
from gateway.tests.job_helpers import Worker, job_row, run_worker_once, wait_for
from gateway.tests.transfer_helpers import (
    CSV,
    XLSX,
    confirm,
    csv_file,
    csv_rows,
    download_url,
    export,
    export_url,
    process_import_url,
    upload,
    xlsx_rows,
)
from gateway.transfer import export_run, transfer_files_purge
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeDocument
from media.choices import ClipStatus
from media.factories import AssetFactory, ClipFactory, PredictionFactory
from media.models import Asset, Clip, Prediction
from users.factories import AdminUserFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestExport:
    def test_csv_export_holds_exactly_the_filtered_rows(self, admin_client):
        rejected = ClipFactory.create_batch(2, status=ClipStatus.REJECTED)
        ClipFactory.create_batch(3, status=ClipStatus.SCORED)
        response = export(admin_client, Clip, "status__exact=REJECTED")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = csv_rows(response.content)
        assert sorted(row["id"] for row in rows) == sorted(str(clip.pk) for clip in rejected)
        assert {row["status"] for row in rows} == {"REJECTED"}

    def test_xlsx_export_holds_exactly_the_searched_rows_in_the_list_order(self, admin_client):
        owner = UserFactory(email="olivia@example.com")
        mine = [AssetFactory(user=owner, original_name=f"launch-{n}.mp4") for n in range(3)]
        AssetFactory(original_name="launch-other.mp4")
        response = export(admin_client, Asset, "owner=olivia@example.com&q=launch&o=2", XLSX)
        assert response.status_code == 200
        rows = xlsx_rows(response.content)
        assert [row["id"] for row in rows] == [str(asset.pk) for asset in sorted(mine, key=lambda a: a.original_name)]
        assert {row["owner_email"] for row in rows} == {"olivia@example.com"}

    def test_soft_deleted_rows_are_exported_only_when_the_list_shows_them(self, admin_client):
        live, deleted = CampaignFactory(), CampaignFactory()
        deleted.soft_delete()
        assert [row["id"] for row in csv_rows(export(admin_client, Campaign).content)] == [str(live.pk)]
        shown = csv_rows(export(admin_client, Campaign, "deleted=yes").content)
        assert [row["id"] for row in shown] == [str(deleted.pk)]

    @pytest.mark.parametrize(
        ("model", "factory", "column"),
        [
            (Asset, AssetFactory, "original_name"),
            (Clip, ClipFactory, "score"),
            (Prediction, PredictionFactory, "predicted_roas"),
            (Campaign, CampaignFactory, "budget"),
            (Conversion, ConversionFactory, "value"),
            (KnowledgeDocument, KnowledgeDocumentFactory, "tags"),
        ],
    )
    @pytest.mark.parametrize(("file_format", "parse"), [(CSV, csv_rows), (XLSX, xlsx_rows)], ids=["csv", "xlsx"])
    def test_every_console_list_exports_in_a_fixed_number_of_queries(
        self, admin_client, model, factory, column, file_format, parse
    ):
        factory.create_batch(2)
        with CaptureQueriesContext(connection) as few:
            export(admin_client, model, file_format=file_format)
        factory.create_batch(3)
        with CaptureQueriesContext(connection) as more:
            response = export(admin_client, model, file_format=file_format)
        rows = parse(response.content)
        assert len(rows) == 5
        assert column in rows[0]
        assert len(more.captured_queries) == len(few.captured_queries)

    def test_the_form_says_which_rows_it_exports(self, admin_client):
        page = admin_client.get(export_url(Clip, "status__exact=REJECTED")).content.decode()
        assert '<a href="/admin/media/clip/?status__exact=REJECTED">the list as shown</a>' in page
        assert "<code>status__exact=REJECTED</code>" in page

    def test_export_needs_the_view_permission(self, client):
        client.force_login(staff_user("media.view_asset"))
        assert export(client, Asset).status_code == 200
        assert export(client, Clip).status_code == 403

    def test_unusable_filters_are_a_message_not_an_error(self, admin_client):
        response = admin_client.post(export_url(Clip, "no_such_field=1"), {"format": "0"}, follow=True)
        assert response.status_code == 200
        assert "nothing was exported" in " ".join(messages_of(response))

    def test_a_list_beyond_the_cap_is_refused_with_a_message(self, admin_client, settings):
        settings.ADMIN_EXPORT_MAX_ROWS = 2
        ClipFactory.create_batch(3)
        response = admin_client.post(export_url(Clip), {"format": CSV}, follow=True)
        assert "more than an export takes" in " ".join(messages_of(response))
        assert not AdminExport.objects.exists()

    def test_a_large_export_is_queued_with_its_job(self, admin_client, admin_user, settings):
        settings.ADMIN_EXPORT_SYNC_ROWS = 2
        ClipFactory.create_batch(3)
        response = admin_client.post(export_url(Clip, "status__exact=SCORED"), {"format": "0"}, follow=True)
        assert "being prepared in the background" in " ".join(messages_of(response))
        assert response.redirect_chain[-1][0] == changelist_url(Clip) + "?status__exact=SCORED"
        queued = AdminExport.objects.get()
        assert (queued.owner, queued.model, queued.query, queued.file_format, queued.state) == (
            admin_user, "media.clip", "status__exact=SCORED", "csv", ExportState.PENDING,
        )  # fmt: skip
        assert queued.job_id is not None


class TestBadFiles:
    def page_errors(self, response) -> str:
        assert response.status_code == 200
        form = response.context["form"]
        result = response.context.get("result")
        words = [str(error) for errors in form.errors.values() for error in errors]
        if result is not None:
            words += [str(error.error) for error in result.base_errors]
        return " ".join(words)

    def test_a_file_without_the_id_column(self, admin_client):
        response = upload(admin_client, Clip, csv_file([["clip", "score"], ["x", "0.1"]]))
        assert "The file has no column id" in self.page_errors(response)

    def test_a_file_not_in_utf8(self, admin_client):
        clip = ClipFactory()
        file = csv_file([["id", "status"], [clip.pk, "PENDING"], ["é", ""]], encoding="latin-1")
        assert "not UTF-8 text" in self.page_errors(upload(admin_client, Clip, file))

    def test_an_xlsx_that_is_not_one(self, admin_client):
        file = csv_file([["id", "score"]], name="scores.xlsx")
        assert "not an XLSX workbook" in self.page_errors(upload(admin_client, Clip, file, XLSX))

    def test_a_file_too_big(self, admin_client, settings):
        settings.ADMIN_IMPORT_MAX_BYTES = 100
        file = csv_file([["id", "score"], *[[f"{n:036d}", "0.1"] for n in range(5)]])
        assert "an import takes at most" in self.page_errors(upload(admin_client, Clip, file))

    def test_a_file_with_too_many_rows(self, admin_client, settings):
        settings.ADMIN_IMPORT_MAX_ROWS = 2
        file = csv_file([["id", "score"], *[[f"{n:036d}", "0.1"] for n in range(3)]])
        assert "an import takes at most 2" in self.page_errors(upload(admin_client, Clip, file))

    def test_an_xlsx_export_escapes_control_characters(self, admin_client):
        AssetFactory(original_name="bad\x07name.mp4")
        rows = xlsx_rows(export(admin_client, Asset, file_format=XLSX).content)
        assert rows[0]["original_name"].startswith("bad")

    def test_a_small_workbook_with_too_many_rows(self, admin_client, settings):
        settings.ADMIN_IMPORT_MAX_ROWS = 2
        workbook = openpyxl.Workbook()
        for row in [["id", "score"], *[[f"{n:036d}", 0.1] for n in range(3)]]:
            workbook.active.append(row)
        output = io.BytesIO()
        workbook.save(output)
        file = SimpleUploadedFile("scores.xlsx", output.getvalue())
        assert "more than 2 rows" in self.page_errors(upload(admin_client, Clip, file, XLSX))

    def test_an_empty_file(self, admin_client):
        assert "The submitted file is empty." in self.page_errors(upload(admin_client, Clip, csv_file([])))

    def test_a_file_with_no_rows(self, admin_client):
        assert "No valid data to import" in self.page_errors(upload(admin_client, Clip, csv_file([["id"]])))

    def test_a_confirmation_whose_upload_is_gone(self, admin_client):
        clip = ClipFactory(score=0.1)
        response = upload(admin_client, Clip, csv_file([["id", "score"], [clip.pk, "0.2"]]))
        ImportUpload.objects.all().delete()
        response = confirm(admin_client, Clip, response)
        assert "Upload it again" in " ".join(messages_of(response))

    def test_a_forged_confirmation(self, admin_client):
        data = {"import_file_name": "../../etc/passwd", "original_file_name": "x.csv", "format": "7", "resource": "9"}
        response = admin_client.post(process_import_url(Clip), data, follow=True)
        assert response.status_code == 200


class TestDownload:
    @pytest.fixture
    def ready(self, admin_user):
        return AdminExport.objects.create(
            owner=admin_user, model="media.clip", file_format="csv", state=ExportState.READY, row_count=1,
            file_name="Clip.csv", content_type="text/csv", content=b"id\r\n1\r\n",
        )  # fmt: skip

    def test_its_owner_downloads_it(self, admin_client, ready):
        response = admin_client.get(download_url(ready))
        assert (response.status_code, response.content) == (200, b"id\r\n1\r\n")

    def test_another_superuser_downloads_it(self, client, ready):
        client.force_login(AdminUserFactory())
        assert client.get(download_url(ready)).status_code == 200

    def test_another_staff_member_gets_a_404(self, client, ready):
        client.force_login(staff_user("media.view_clip"))
        assert client.get(download_url(ready)).status_code == 404

    def test_the_exports_page_lists_each_state_and_why_one_failed(self, admin_client, admin_user, ready):
        AdminExport.objects.create(
            owner=admin_user, model="media.asset", file_format="xlsx", state=ExportState.FAILED, error="Boom."
        )
        page = admin_client.get(changelist_url(AdminExport)).content.decode()
        assert f'href="{download_url(ready)}"' in page
        assert "failed: Boom." in page and '<td class="field-list_name">assets</td>' in page

    def test_an_export_not_ready_is_a_message(self, admin_client, ready):
        AdminExport.objects.filter(pk=ready.pk).update(state=ExportState.RUNNING)
        response = admin_client.get(download_url(ready), follow=True)
        assert "not ready yet" in " ".join(messages_of(response))


class TestExportRun:
    """The job's body, run here (a real worker runs it in TestExportJob)."""

    def queued(self, owner, query="", file_format="csv"):
        return AdminExport.objects.create(owner=owner, model="media.clip", query=query, file_format=file_format)

    def test_it_is_idempotent(self, admin_user):
        ClipFactory.create_batch(2)
        export = self.queued(admin_user)
        assert export_run(export_id=str(export.pk)) == {"export": str(export.pk), "rows": 2}
        ClipFactory()
        assert export_run(export_id=str(export.pk)) == {"export": str(export.pk), "rows": 2}
        export.refresh_from_db()
        assert (export.state, len(csv_rows(bytes(export.content)))) == (ExportState.READY, 2)

    def test_an_owner_no_longer_allowed_gets_a_failed_export(self):
        owner = staff_user()
        export = self.queued(owner)
        with pytest.raises(Exception, match="may no longer export"):
            export_run(export_id=str(export.pk))
        export.refresh_from_db()
        assert export.state == ExportState.FAILED
        assert "may no longer export clips" in export.error

    def test_unusable_filters_fail_the_export(self, admin_user):
        export = self.queued(admin_user, query="no_such_field=1")
        with pytest.raises(Exception, match="filters are not valid"):
            export_run(export_id=str(export.pk))
        export.refresh_from_db()
        assert export.state == ExportState.FAILED


@contextmanager
def clips_locked():
    """The clips table locked by another connection for the block: nobody reads it meanwhile."""
    locker = psycopg.connect(**connector_params())
    locker.execute("LOCK TABLE clips IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        locker.rollback()
        locker.close()


@pytest.mark.django_db(transaction=True)
class TestExportRunTransientFailure:
    """The clips table locked by another connection: the export's read waits past its lock timeout, a transient
    error (autocommit, as in a worker, so the export row can still be written after it)."""

    @pytest.fixture
    def locked_clips(self):
        with clips_locked():
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '200ms'")
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")

    @pytest.fixture
    def export(self, admin_user):
        ClipFactory()
        return AdminExport.objects.create(owner=admin_user, model="media.clip", file_format="csv")

    def test_leaves_the_export_running_when_the_job_will_be_retried(self, export, locked_clips):
        with pytest.raises(OperationalError, match="lock timeout"):
            export_run(export_id=str(export.pk), last_attempt=False)
        export.refresh_from_db()
        assert export.state == ExportState.RUNNING

    def test_fails_the_export_on_the_jobs_last_attempt(self, export, locked_clips):
        with pytest.raises(OperationalError, match="lock timeout"):
            export_run(export_id=str(export.pk), last_attempt=True)
        export.refresh_from_db()
        assert export.state == ExportState.FAILED
        assert "lock timeout" in export.error and export.finished_at is not None


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("state", "DONE", "gateway_adminexport_state_valid"),
        ("row_count", -1, "gateway_adminexport_row_count_non_negative"),
    ],
)
def test_the_exports_table_refuses_what_no_export_can_be(admin_user, field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        AdminExport.objects.create(owner=admin_user, model="media.clip", file_format="csv", **{field: value})


def test_old_exports_and_uploads_are_purged(admin_user):
    old = AdminExport.objects.create(owner=admin_user, model="media.clip", file_format="csv")
    AdminExport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(days=30))
    recent = AdminExport.objects.create(owner=admin_user, model="media.clip", file_format="csv")
    ImportUpload.objects.create(content=b"x", created_at=timezone.now() - timezone.timedelta(days=2))
    assert transfer_files_purge() == {"exports": 1, "uploads": 1}
    assert list(AdminExport.objects.all()) == [recent]


@pytest.mark.django_db(transaction=True)
class TestExportJob:
    """A large export with a real worker (gateway/tests/job_helpers.py): built, listed, downloaded by its owner only."""

    @pytest.fixture
    def built(self, empty_queue, admin_client, settings):
        settings.ADMIN_EXPORT_SYNC_ROWS = 2
        scored = ClipFactory.create_batch(3, status=ClipStatus.SCORED)
        ClipFactory(status=ClipStatus.REJECTED)
        admin_client.post(export_url(Clip, "status__exact=SCORED"), {"format": XLSX})
        output = run_worker_once()
        assert "gateway.tasks.export_changelist" in output
        return AdminExport.objects.get(), scored

    def test_an_export_the_database_refuses_on_every_attempt_ends_failed(
        self, empty_queue, admin_client, settings, tmp_path
    ):
        settings.ADMIN_EXPORT_SYNC_ROWS = 2
        ClipFactory.create_batch(3)
        admin_client.post(export_url(Clip), {"format": CSV})
        export = AdminExport.objects.get()
        with clips_locked():
            # One retry (a second after the first attempt), each attempt's read giving up after 200 ms.
            worker = Worker(tmp_path / "worker.log", JOB_MAX_ATTEMPTS="1", JOB_LOCK_TIMEOUT_MS="200")
            try:
                wait_for(lambda: job_row(export.job_id)["status"] == "failed", message=worker.output()[-3000:])
            finally:
                worker.stop()
        assert job_row(export.job_id)["attempts"] == 2
        export.refresh_from_db()
        assert export.state == ExportState.FAILED
        assert "lock timeout" in export.error

    def test_the_worker_builds_the_filtered_rows(self, built, admin_client):
        export, scored = built
        assert (export.state, export.row_count, export.file_name.endswith(".xlsx")) == (ExportState.READY, 3, True)
        listing = admin_client.get(changelist_url(AdminExport))
        assert export.file_name in listing.content.decode()
        response = admin_client.get(download_url(export))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        assert sorted(row["id"] for row in xlsx_rows(response.content)) == sorted(str(clip.pk) for clip in scored)

    def test_another_staff_member_cannot_download_it(self, built, client):
        export, _ = built
        client.force_login(staff_user("media.view_clip", "media.change_clip"))
        assert client.get(download_url(export)).status_code == 404
        listing = client.get(changelist_url(AdminExport))
        assert listing.status_code == 200
        assert export.file_name not in listing.content.decode()
