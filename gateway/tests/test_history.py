"""The history of every change (gateway/history.py): database triggers catch each path, with its actor and request id.

Each path is taken for real: the API with an API key, the admin's change form, a service's queryset ``.update()``
(no ``save()``, no signal), a job run by a real worker, a management command and raw SQL on a connection of its
own. The admin's History page and the API's ``history/`` endpoint then show the same events.
"""

import io
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pgtrigger
import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from procrastinate.contrib.django import app
from procrastinate.contrib.django.utils import connector_params
from rest_framework.test import APIClient

from campaigns.choices import ExperimentStatus
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from campaigns.models import Campaign, Experiment
from gateway import checks, history
from gateway.admin.links import history_url as admin_history_url
from gateway.jobs import defer
from gateway.seeding.scale import seed_scale
from gateway.tasks import purge_history_events
from gateway.tests.admin_helpers import post_change_form
from gateway.tests.api_helpers import client_for
from gateway.tests.job_helpers import run_worker_once, worker_environment
from media.factories import AssetFactory, ClipFactory, PredictionFactory
from media.models import Clip
from users.factories import ApiKeyFactory
from users.models import ApiKey

VARIANTS = [
    {"id": "variant-a", "name": "A", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "B", "impressions": 50_000, "clicks": 1_750, "conversions": 95},
]


def events_of(obj):
    return history.history_events(type(obj), history.history_of(obj))


def latest(obj):
    return events_of(obj)[0]


def changed(event) -> dict:
    return {change.field: (change.old, change.new) for change in event.changes}


def history_url(resource: str, obj) -> str:
    return f"/api/v1/{resource}/{obj.pk}/history/"


class TestThroughTheApi:
    pytestmark = pytest.mark.django_db

    def test_an_api_change_names_the_user_the_key_and_the_request(self, user):
        key = ApiKeyFactory(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.secret}")
        campaign = CampaignFactory(user=user, budget="1000.00")

        response = client.patch(
            f"/api/v1/campaigns/{campaign.pk}/", {"budget": "2500.00"}, format="json", HTTP_X_REQUEST_ID="req-api-1"
        )

        assert response.status_code == 200, response.json()
        event = latest(campaign)
        assert event.event == "update"
        assert changed(event) == {"budget": ("1000.00", "2500.00")}
        assert (event.user, event.api_key_prefix, event.request_id) == (str(user.pk), key.prefix, "req-api-1")

    def test_a_services_queryset_update_is_recorded(self, user, user_client):
        campaign = CampaignFactory(user=user, total_clicks=10)

        response = user_client.post(
            f"/api/v1/campaigns/{campaign.pk}/metrics/",
            {"clicks": 5, "increment": True},
            format="json",
            HTTP_X_REQUEST_ID="req-increment",
        )

        assert response.status_code == 200, response.json()
        event = latest(campaign)
        assert changed(event) == {"total_clicks": (10, 15)}
        assert (event.user, event.request_id) == (str(user.pk), "req-increment")

    def test_the_history_endpoint_lists_the_changes_newest_first(self, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), score=0.5)
        user_client.post(f"/api/v1/clips/{clip.pk}/scores/", {"score": 0.9}, format="json", HTTP_X_REQUEST_ID="r-2")

        body = user_client.get(history_url("clips", clip)).json()

        assert body["count"] == 2
        newest, created = body["results"]
        assert (newest["event"], created["event"]) == ("update", "insert")
        assert {"field": "score", "old": 0.5, "new": 0.9} in newest["changes"]
        assert newest["actor"]["user"] == str(user.pk)
        assert newest["request_id"] == "r-2"
        assert created["changes"] == []

    def test_someone_elses_row_has_no_history_to_see(self, other_user, user_client):
        campaign = CampaignFactory(user=other_user)

        response = user_client.get(history_url("campaigns", campaign))

        assert response.status_code == 404

    def test_an_admin_sees_anyones_history(self, user, admin_client_api):
        campaign = CampaignFactory(user=user)

        response = admin_client_api.get(history_url("campaigns", campaign))

        assert response.status_code == 200
        assert response.json()["count"] == 1

    def test_the_history_is_paginated(self, user, user_client):
        campaign = CampaignFactory(user=user, total_clicks=0)
        for clicks in range(1, 4):
            Campaign.objects.filter(pk=campaign.pk).update(total_clicks=clicks)

        body = user_client.get(history_url("campaigns", campaign), {"page_size": 2}).json()

        assert body["count"] == 4
        assert len(body["results"]) == 2
        assert body["next"]

    @pytest.mark.parametrize("events", [1, 20])
    def test_the_history_runs_a_fixed_number_of_queries(self, events, user, user_client, django_assert_max_num_queries):
        campaign = CampaignFactory(user=user, total_clicks=0)
        for clicks in range(1, events):
            Campaign.objects.filter(pk=campaign.pk).update(total_clicks=clicks)

        # The API key (and its last use), the row, the count and the page.
        with django_assert_max_num_queries(5):
            response = user_client.get(history_url("campaigns", campaign))

        assert response.json()["count"] == events

    @pytest.mark.parametrize(
        "resource, make",
        [
            ("users", lambda user: user),
            ("api-keys", lambda user: ApiKeyFactory(user=user)),
            ("assets", lambda user: AssetFactory(user=user)),
            ("clips", lambda user: ClipFactory(asset=AssetFactory(user=user))),
            ("campaigns", lambda user: CampaignFactory(user=user)),
            ("experiments", lambda user: ExperimentFactory(campaign=CampaignFactory(user=user))),
        ],
    )
    def test_every_tracked_resource_has_a_history(self, resource, make, user, user_client):
        row = make(user)

        body = user_client.get(history_url(resource, row)).json()

        assert body["results"][-1]["event"] == "insert"

    def test_secrets_and_bookkeeping_are_left_out(self, user):
        key = ApiKeyFactory(user=user)
        ApiKey.objects.filter(pk=key.pk).update(last_used_at="2030-01-01T00:00:00Z", hashed_key="x")

        assert len(events_of(key)) == 1
        assert "password" not in {field.name for field in history.event_model_of(type(user))._meta.fields}


class TestThroughTheAdmin:
    pytestmark = pytest.mark.django_db

    def test_an_admin_form_change_names_the_staff_member_and_the_request(self, admin_client, admin_user, user):
        campaign = CampaignFactory(user=user, name="Before")

        response = post_change_form(admin_client, campaign, name="After")

        assert response.status_code == 302
        event = latest(campaign)
        assert changed(event) == {"name": ("Before", "After")}
        assert event.user == str(admin_user.pk)
        assert event.request_id == response["X-Request-ID"]

    def test_the_history_page_shows_old_and_new_values_actor_and_request(self, admin_client, user, user_client):
        clip = ClipFactory(asset=AssetFactory(user=user), score=0.25)
        user_client.post(f"/api/v1/clips/{clip.pk}/scores/", {"score": 0.75}, format="json", HTTP_X_REQUEST_ID="req-s")

        page = admin_client.get(admin_history_url(Clip, clip.pk))

        assert page.status_code == 200
        html = page.content.decode()
        assert "0.25" in html and "0.75" in html
        assert user.email in html
        assert "req-s" in html
        assert html.index(">update<") < html.index(">insert<")  # newest first

    def test_the_history_page_runs_a_fixed_number_of_queries(self, admin_client, user, django_assert_max_num_queries):
        campaign = CampaignFactory(user=user, total_clicks=0)
        for clicks in range(1, 30):
            Campaign.objects.filter(pk=campaign.pk).update(total_clicks=clicks)

        with django_assert_max_num_queries(8):
            page = admin_client.get(admin_history_url(Campaign, campaign.pk))

        assert page.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda user: user,
        lambda user: ApiKeyFactory(user=user),
        lambda user: AssetFactory(user=user),
        lambda user: ClipFactory(asset=AssetFactory(user=user)),
        lambda user: PredictionFactory(clip=ClipFactory(asset=AssetFactory(user=user))),
        lambda user: CampaignFactory(user=user),
        lambda user: ExperimentFactory(campaign=CampaignFactory(user=user)),
        lambda user: ConversionFactory(campaign=CampaignFactory(user=user)),
    ],
    ids=["user", "api key", "asset", "clip", "prediction", "campaign", "experiment", "conversion"],
)
def test_every_tracked_models_admin_shows_its_events(make, admin_client, user):
    row = make(user)

    page = admin_client.get(admin_history_url(type(row), row.pk))

    assert page.status_code == 200
    assert page.content.decode().count('class="gv-history-event"') == 1


class TestOutsideRequests:
    pytestmark = pytest.mark.django_db(transaction=True)

    def test_a_job_names_its_task_and_the_request_that_queued_it(self, empty_queue, user):
        experiment = ExperimentFactory(
            campaign=CampaignFactory(user=user), variants=VARIANTS, status=ExperimentStatus.RUNNING
        )
        response = client_for(user).post(
            f"/api/v1/experiments/{experiment.pk}/evaluate/",
            {"apply": True, "metric": "ctr", "threshold": 0.95, "min_sample": 1000},
            format="json",
            HTTP_X_REQUEST_ID="req-job-1",
        )
        assert response.status_code == 202, response.json()

        output = run_worker_once()

        event = latest(Experiment.objects.get(pk=experiment.pk))
        assert changed(event)["winner_variant_id"] == (None, "variant-b"), output
        assert event.job == "campaigns.tasks.evaluate_experiment"
        assert (event.request_id, event.user) == ("req-job-1", str(user.pk))

    def test_raw_sql_on_another_connection_is_recorded_without_an_actor(self, user):
        campaign = CampaignFactory(user=user, name="Before")

        with psycopg.connect(**connector_params(), autocommit=True) as conn:
            conn.execute("UPDATE campaigns SET name = 'By hand' WHERE id = %s", [campaign.pk])

        event = latest(campaign)
        assert changed(event) == {"name": ("Before", "By hand")}
        assert event.actor == "database (no context)"

    def test_an_autocommit_statement_carries_its_context(self, user):
        campaign = CampaignFactory(user=user, name="Before")

        # No transaction around it: the context and the statement go as one query string (one implicit
        # transaction), which is also what lets it pass PgBouncer in transaction mode.
        assert connection.get_autocommit()
        with history.context(command="by-test", request_id="req-auto"):
            Campaign.objects.filter(pk=campaign.pk).update(name="After")

        event = latest(campaign)
        assert (event.command, event.request_id) == ("by-test", "req-auto")

    def test_a_management_command_names_itself(self, user):
        key = ApiKeyFactory(user=user)

        finished = subprocess.run(
            [sys.executable, "manage.py", "revokeapikey", key.prefix],
            cwd=settings.BASE_DIR,
            env=worker_environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert finished.returncode == 0, finished.stderr[-3000:]
        event = latest(key)
        assert "revoked_at" in changed(event)
        assert event.command == "revokeapikey"


class TestWritesThatKeepNoHistory:
    pytestmark = pytest.mark.django_db

    def test_the_scale_data_set_is_written_without_events(self):
        seed_scale(1, seed=7)

        assert Campaign.objects.exists() and Clip.objects.exists()
        for model in (Campaign, Clip, Experiment):
            assert not history.event_model_of(model).objects.exists()

    def test_triggers_fire_again_after_the_seed(self, user):
        seed_scale(1, seed=8)

        campaign = CampaignFactory(user=user)

        assert [event.event for event in events_of(campaign)] == ["insert"]


def aged(model, pk, *, days: int, keep_newest: int = 0) -> None:
    """Move the events of ``model``'s row ``pk`` back by ``days`` (all but its ``keep_newest`` newest)."""
    event_model = history.event_model_of(model)
    ids = list(event_model.objects.filter(pgh_obj_id=pk).order_by("-pgh_id").values_list("pgh_id", flat=True))
    with pgtrigger.ignore(f"{event_model._meta.label}:append_only"):
        event_model.objects.filter(pgh_id__in=ids[keep_newest:]).update(
            pgh_created_at=F("pgh_created_at") - timedelta(days=days)
        )


def budgets(campaign) -> list:
    """The budget each of ``campaign``'s kept events holds, oldest first."""
    events = history.event_model_of(Campaign).objects.filter(pgh_obj_id=campaign.pk).order_by("pgh_id")
    return [str(budget) for budget in events.values_list("budget", flat=True)]


class TestRetention:
    """``HISTORY_RETENTION_DAYS``: old events go, each row keeping the last one before the retention."""

    pytestmark = pytest.mark.django_db

    def changed_budget(self, user, *budgets_in_turn):
        campaign = CampaignFactory(user=user, budget=Decimal("100.00"), daily_budget=None)
        for budget in budgets_in_turn:
            Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal(budget))
        return campaign

    @pytest.mark.parametrize("window", [1, 3, history.PURGE_WINDOW])  # the walk in windows finds the same events
    def test_a_row_keeps_its_recent_events_and_the_last_old_one_as_their_base(self, user, monkeypatch, window):
        monkeypatch.setattr(history, "PURGE_WINDOW", window)
        self.changed_budget(user, "1000.00")  # events of another row before and between
        campaign = self.changed_budget(user, "200.00", "300.00", "400.00")
        self.changed_budget(user, "1000.00")
        aged(Campaign, campaign.pk, days=40, keep_newest=1)

        assert history.events_purge(older_than=timedelta(days=30)) == 2

        assert budgets(campaign) == ["300.00", "400.00"]
        newest, base = events_of(campaign)
        assert changed(newest) == {"budget": ("300.00", "400.00")}
        assert base.event == "update"

    def test_a_row_with_only_old_events_keeps_its_last(self, user):
        campaign = self.changed_budget(user, "200.00")
        aged(Campaign, campaign.pk, days=40)

        assert history.events_purge(older_than=timedelta(days=30)) == 1

        assert budgets(campaign) == ["200.00"]

    @pytest.mark.parametrize("window", [1, history.PURGE_WINDOW])  # its deletion is the last window's last event
    def test_a_row_deleted_before_the_retention_leaves_nothing(self, user, monkeypatch, window):
        monkeypatch.setattr(history, "PURGE_WINDOW", window)
        campaign = self.changed_budget(user, "200.00")
        campaign_id = campaign.pk
        campaign.delete()  # a hard delete
        aged(Campaign, campaign_id, days=40)

        assert history.events_purge(older_than=timedelta(days=30)) == 3

        assert not history.event_model_of(Campaign).objects.filter(pgh_obj_id=campaign_id).exists()

    def test_recent_history_and_every_other_table_are_untouched(self, user):
        campaign = self.changed_budget(user, "200.00", "300.00")
        clip = ClipFactory()
        aged(Clip, clip.pk, days=20)

        assert history.events_purge(older_than=timedelta(days=30)) == 0

        assert budgets(campaign) == ["100.00", "200.00", "300.00"]
        assert [event.event for event in events_of(clip)] == ["insert"]

    def test_the_events_stay_append_only_outside_the_purge(self, user):
        campaign = self.changed_budget(user, "200.00")
        aged(Campaign, campaign.pk, days=40)
        history.events_purge(older_than=timedelta(days=30))

        with pytest.raises(DatabaseError, match="append_only"), transaction.atomic():
            history.event_model_of(Campaign).objects.filter(pgh_obj_id=campaign.pk).delete()

    def test_the_command_purges_past_the_days_given_and_refuses_without_any(self, user):
        campaign = self.changed_budget(user, "200.00", "300.00")
        aged(Campaign, campaign.pk, days=40)
        output = io.StringIO()

        call_command("purge_history", days=30, stdout=output)

        assert output.getvalue().strip() == "Deleted 2 history events older than 30 days."
        assert budgets(campaign) == ["300.00"]
        with pytest.raises(CommandError, match="HISTORY_RETENTION_DAYS"):
            call_command("purge_history", days=0)


class TestRetentionJob:
    """``gateway.tasks.purge_history_events`` run by a real worker: only with a retention set."""

    pytestmark = pytest.mark.django_db(transaction=True)

    def test_it_purges_with_a_retention_and_keeps_everything_without(self, empty_queue, user):
        campaign = CampaignFactory(user=user, budget=Decimal("100.00"), daily_budget=None)
        Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal("200.00"))
        aged(Campaign, campaign.pk, days=40)

        defer(purge_history_events, timestamp=1)
        run_worker_once(HISTORY_RETENTION_DAYS="0")  # the default: everything kept
        assert budgets(campaign) == ["100.00", "200.00"]

        defer(purge_history_events, timestamp=2)
        output = run_worker_once(HISTORY_RETENTION_DAYS="30")
        assert budgets(campaign) == ["200.00"], output

    def test_runs_every_day(self):
        periodic = app.periodic_registry.periodic_tasks[("gateway.tasks.purge_history_events", "purge-history-events")]
        assert periodic.cron == "0 0 * * *"


class TestTheIgnoreListDefault:
    """``pgtrigger.ignore`` defaults to an empty list in the database (gateway/migrations/0005), so the history
    triggers read it without raising and catching an error per row (quadratic on bulk writes)."""

    pytestmark = pytest.mark.django_db(transaction=True)

    def set_default(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} {sql}")

    def test_a_new_session_reads_an_empty_list_and_triggers_still_fire_and_can_be_ignored(self, user):
        with psycopg.connect(**connector_params(), autocommit=True) as conn:
            assert conn.execute("SELECT current_setting('pgtrigger.ignore', true)").fetchone() == ("{}",)
        campaign = CampaignFactory(user=user)
        with transaction.atomic(), history.ignored():
            Campaign.objects.filter(pk=campaign.pk).update(name="Unrecorded")
        Campaign.objects.filter(pk=campaign.pk).update(name="Recorded")
        assert [event.event for event in events_of(campaign)] == ["update", "insert"]
        assert changed(latest(campaign)) == {"name": (campaign.name, "Recorded")}  # the ignored one left nothing

    def test_the_check_warns_when_the_database_has_no_default(self):
        assert not checks.check_pgtrigger_ignore_default(None, databases=["default"])
        self.set_default("RESET pgtrigger.ignore")
        try:
            (warning,) = checks.check_pgtrigger_ignore_default(None, databases=["default"])
        finally:
            self.set_default("SET pgtrigger.ignore = '{}'")
        assert warning.id == "gateway.W003"
        assert "SET pgtrigger.ignore = '{}'" in warning.hint


@pytest.mark.django_db
def test_events_are_numbered_past_32_bits(user):
    """Event ids are 64-bit (``gateway.models.EventBase``): a table past 2,147,483,647 events keeps recording."""
    table = history.event_model_of(Campaign)._meta.db_table
    with connection.cursor() as cursor:  # a sequence is not rolled back with the test: only ever moved forward
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'pgh_id'), GREATEST(nextval(pg_get_serial_sequence(%s, "
            "'pgh_id')), 2147483648))",
            [table, table],
        )
    campaign = CampaignFactory(user=user, name="Before")
    Campaign.objects.filter(pk=campaign.pk).update(name="After")

    newest, inserted = events_of(campaign)
    assert inserted.id > 2**31 and newest.id > inserted.id
    assert changed(newest) == {"name": ("Before", "After")}
    response = client_for(user).get(history_url("campaigns", campaign))
    assert response.status_code == 200 and response.json()["results"][0]["id"] == newest.id
