"""Jobs (gateway/jobs.py, docs/JOBS.md): transactional queueing, retries, dead workers, the jobs endpoint.

Where a worker is needed it is a real ``manage.py procrastinate worker`` process on the test database
(gateway/tests/job_helpers.py); transient errors are real ones (a row lock held by the test).
"""

import json
import os
import signal
import subprocess
import sys

import psutil
import psycopg
import psycopg.sql
import pytest
from django.conf import settings
from django.db import connection, transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.contrib.django.utils import connector_params

from campaigns.choices import ExperimentStatus
from campaigns.factories import CampaignFactory, ExperimentFactory
from campaigns.models import Experiment
from campaigns.tasks import evaluate_experiment, evaluate_running_experiments
from gateway.admin.links import changelist_url
from gateway.jobs import cron_every, defer
from gateway.models import JobRecord
from gateway.tasks import purge_finished_jobs, purge_idempotency_keys, purge_transfer_files
from gateway.tests.admin_helpers import run_action
from gateway.tests.api_helpers import client_for
from gateway.tests.job_helpers import (
    SUPERVISED_WORKER_COMMAND,
    Worker,
    job_events,
    job_row,
    run_worker_once,
    wait_for,
    worker_environment,
)
from users.factories import AdminUserFactory, UserFactory

VARIANTS = [
    {"id": "variant-a", "name": "A", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "B", "impressions": 50_000, "clicks": 1_750, "conversions": 95},
]
EVALUATION = {"metric": "ctr", "threshold": 0.95, "min_sample": 1000}


def evaluate_url(experiment):
    return f"/api/v1/experiments/{experiment.pk}/evaluate/"


def job_url(job_id):
    return f"/api/v1/jobs/{job_id}/"


@pytest.fixture
def experiment(user):
    return ExperimentFactory(campaign=CampaignFactory(user=user), variants=VARIANTS, status=ExperimentStatus.RUNNING)


def queue_evaluation(experiment, user=None) -> int:
    return defer(evaluate_experiment, user=user, experiment_id=str(experiment.pk), **EVALUATION).job_id


class RowLock:
    """The experiment's row locked by another connection (as a long transaction elsewhere would)."""

    def __init__(self, experiment):
        # The test database's connection parameters, as Procrastinate's worker reads them.
        self.conn = psycopg.connect(**connector_params())
        self.conn.execute("SELECT 1 FROM experiments WHERE id = %s FOR UPDATE", [experiment.pk])

    def release(self):
        self.conn.rollback()
        self.conn.close()


class TestQueueingIsTransactional:
    pytestmark = pytest.mark.django_db(transaction=True)

    def test_a_rolled_back_write_queues_nothing(self, empty_queue, experiment):
        with pytest.raises(RuntimeError), transaction.atomic():
            job_id = queue_evaluation(experiment)
            raise RuntimeError("the write that caused the job failed")
        assert not JobRecord.objects.filter(pk=job_id).exists()
        assert job_events(job_id) == []

    def test_a_committed_write_keeps_its_job(self, empty_queue, experiment):
        with transaction.atomic():
            job_id = queue_evaluation(experiment)
        assert job_row(job_id) == {"status": "todo", "attempts": 0}
        assert JobRecord.objects.filter(pk=job_id).exists()


class TestWorkers:
    pytestmark = pytest.mark.django_db(transaction=True)

    def test_a_job_queued_while_no_worker_runs_is_done_when_one_starts(self, empty_queue, user, experiment):
        client = client_for(user)
        response = client.post(evaluate_url(experiment), {"apply": True, **EVALUATION}, HTTP_X_REQUEST_ID="req-apply-1")
        assert response.status_code == 202, response.json()
        job_id = response.json()["id"]
        assert client.get(job_url(job_id)).json()["status"] == "todo"

        output = run_worker_once()

        body = client.get(job_url(job_id)).json()
        assert body["status"] == "succeeded", output
        assert body["error"] is None
        assert body["result"]["winner"] == "variant-b"
        assert body["result"]["applied"] is True
        experiment.refresh_from_db()
        assert experiment.status == ExperimentStatus.COMPLETED
        assert experiment.winner_variant_id == "variant-b"
        # The job's own log lines carry the id of the request that queued it.
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert any(line["request_id"] == "req-apply-1" and "succeeded" in line["message"] for line in lines), output

    def test_a_transient_error_is_retried_and_succeeds(self, empty_queue, tmp_path, experiment):
        lock = RowLock(experiment)
        job_id = queue_evaluation(experiment)
        worker = Worker(tmp_path / "worker.log", JOB_LOCK_TIMEOUT_MS="200")
        try:
            wait_for(lambda: "deferred_for_retry" in job_events(job_id), message="no retry was scheduled")
            assert "lock timeout" in JobRecord.objects.get(pk=job_id).error
            lock.release()
            wait_for(lambda: job_row(job_id)["status"] == "succeeded", message=worker.output()[-3000:])
        finally:
            lock.release() if not lock.conn.closed else None
            worker.stop()
        assert job_row(job_id)["attempts"] == 2
        record = JobRecord.objects.get(pk=job_id)
        assert record.error is None
        assert record.result["winner_variant_id"] == "variant-b"

    def test_bad_input_is_not_retried(self, empty_queue, experiment):
        job_id = queue_evaluation(experiment)
        Experiment.objects.filter(pk=experiment.pk).update(variants=VARIANTS[:1])  # changed after queueing

        run_worker_once()

        assert job_row(job_id) == {"status": "failed", "attempts": 1}
        assert "at least two variants" in JobRecord.objects.get(pk=job_id).error

    def test_a_failed_job_is_listed_and_retried_from_the_admin(self, empty_queue, admin_client, experiment):
        job_id = queue_evaluation(experiment)
        Experiment.objects.filter(pk=experiment.pk).update(variants=VARIANTS[:1])
        run_worker_once()
        assert job_row(job_id)["status"] == "failed"

        listed = admin_client.get(changelist_url(ProcrastinateJob, status="failed"))
        assert listed.status_code == 200
        assert [job.pk for job in listed.context["cl"].result_list] == [job_id]
        Experiment.objects.filter(pk=experiment.pk).update(variants=VARIANTS)  # the staff fixed the data
        run_action(admin_client, ProcrastinateJob, "retry", [ProcrastinateJob.objects.get(pk=job_id)])
        assert job_row(job_id)["status"] == "todo"

        run_worker_once()
        assert job_row(job_id)["status"] == "succeeded"

    def test_a_worker_killed_mid_job_leaves_the_job_to_another_worker(self, empty_queue, tmp_path, experiment):
        lock = RowLock(experiment)  # the job waits on it: mid-job when the worker dies
        job_id = queue_evaluation(experiment)
        first = Worker(tmp_path / "first.log", JOB_LOCK_TIMEOUT_MS="60000")
        try:
            wait_for(lambda: job_row(job_id)["status"] == "doing", message=first.output()[-3000:])
            first.kill()
        finally:
            lock.release()
            first.stop()
        assert job_row(job_id)["status"] == "doing"  # nobody left to say otherwise

        second = Worker(tmp_path / "second.log")
        try:
            wait_for(lambda: job_row(job_id)["status"] == "succeeded", message=second.output()[-3000:])
        finally:
            second.stop()
        assert job_events(job_id).count("started") == 2
        experiment.refresh_from_db()
        assert experiment.winner_variant_id == "variant-b"


def registered_workers() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_workers")
        return {row[0] for row in cursor.fetchall()}


def allow_connections(allowed: bool) -> None:
    """Let (or stop) new connections to the test database; with ``False``, end every other one but the test's."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    # A database's own sessions may not close its doors: the server's maintenance database does it.
    with psycopg.connect(**{**connector_params(), "dbname": "postgres"}, autocommit=True) as maintenance:
        maintenance.execute(
            psycopg.sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            maintenance.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s", [name, own]
            )


class TestTheSupervisedWorker:
    """``manage.py worker``: Procrastinate's worker stops when it loses the database; the command starts a new one."""

    pytestmark = pytest.mark.django_db(transaction=True)

    def test_a_worker_that_lost_the_database_is_replaced_and_sigterm_stops_both(
        self, empty_queue, tmp_path, experiment
    ):
        supervisor = Worker(tmp_path / "worker.log", SUPERVISED_WORKER_COMMAND)
        try:
            wait_for(lambda: registered_workers(), timeout=60, message=supervisor.output()[-3000:])
            first = registered_workers()
            (lost,) = psutil.Process(supervisor.process.pid).children()
            allow_connections(False)  # the database goes away, as in a failover
            try:
                wait_for(lambda: not lost.is_running(), timeout=90, message=supervisor.output()[-3000:])
            finally:
                allow_connections(True)
            assert "The job worker stopped on its own" in supervisor.output()
            wait_for(lambda: registered_workers() - first, timeout=60, message=supervisor.output()[-3000:])

            job_id = queue_evaluation(experiment)
            wait_for(lambda: job_row(job_id)["status"] == "succeeded", timeout=60, message=supervisor.output()[-3000:])
            (replacement,) = psutil.Process(supervisor.process.pid).children()
            assert supervisor.process.poll() is None

            supervisor.process.send_signal(signal.SIGTERM)  # the process alone, as `docker stop` or a pid file does
            assert supervisor.process.wait(30) == 0
            assert not replacement.is_running()
        finally:
            allow_connections(True)
            supervisor.stop()

    def test_one_shot_runs_what_is_due_once_and_ends(self, empty_queue, experiment):
        job_id = queue_evaluation(experiment)

        finished = subprocess.run(
            [*SUPERVISED_WORKER_COMMAND, "--", "--one-shot"], cwd=settings.BASE_DIR, env=worker_environment(),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

        assert finished.returncode == 0, finished.stderr[-3000:]
        assert job_row(job_id)["status"] == "succeeded"
        assert "stopped on its own" not in finished.stdout + finished.stderr

    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
    def test_a_killed_supervisor_takes_its_worker_with_it(self, empty_queue, tmp_path):
        supervisor = Worker(tmp_path / "worker.log", SUPERVISED_WORKER_COMMAND)
        worker = None
        try:
            wait_for(lambda: registered_workers(), timeout=60, message=supervisor.output()[-3000:])
            (worker,) = psutil.Process(supervisor.process.pid).children()
            os.kill(supervisor.process.pid, signal.SIGKILL)  # the supervisor alone: no signal passed on
            supervisor.process.wait(10)
            wait_for(lambda: not worker.is_running(), timeout=30, message=supervisor.output()[-3000:])
            # It stopped as SIGTERM stops it (its graceful stop: it unregistered), not left orphaned.
            wait_for(lambda: not registered_workers(), timeout=10, message=supervisor.output()[-3000:])
        finally:
            if worker is not None and worker.is_running():
                worker.kill()
            supervisor.stop()


@pytest.mark.django_db
class TestJobsEndpoint:
    def test_the_caller_sees_the_job_they_queued(self, user, experiment):
        job_id = queue_evaluation(experiment, user=user)
        response = client_for(user).get(job_url(job_id))
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == job_id
        assert body["task"] == "campaigns.tasks.evaluate_experiment"
        assert (body["status"], body["attempts"], body["result"], body["error"]) == ("todo", 0, None, None)
        assert body["user"] == str(user.pk)

    def test_someone_elses_job_is_a_404(self, user, experiment):
        job_id = queue_evaluation(experiment, user=user)
        assert client_for(UserFactory()).get(job_url(job_id)).status_code == 404

    def test_admin_sees_every_job_periodic_ones_too(self, user, experiment):
        queued = queue_evaluation(experiment, user=user)
        periodic = queue_evaluation(experiment)  # no owner, as a periodic job's record
        admin = client_for(AdminUserFactory())
        assert admin.get(job_url(queued)).status_code == 200
        assert admin.get(job_url(periodic)).status_code == 200
        assert client_for(user).get(job_url(periodic)).status_code == 404

    def test_anonymous_is_a_401(self, api_client, experiment):
        assert api_client.get(job_url(queue_evaluation(experiment))).status_code == 401

    @pytest.mark.parametrize("job_id", ["0", "abc", "9" * 30])
    def test_unknown_or_malformed_id_is_a_404(self, user_client, job_id):
        assert user_client.get(job_url(job_id)).status_code == 404


class TestFinishedJobsPurge:
    """``gateway.tasks.purge_finished_jobs`` run by a real worker, after a job's events are aged past the retention."""

    pytestmark = pytest.mark.django_db(transaction=True)

    def test_deletes_jobs_finished_before_the_retention_with_their_records(self, empty_queue, settings):
        old = defer(purge_idempotency_keys, timestamp=1).job_id
        recent = defer(purge_transfer_files, timestamp=1).job_id
        waiting = defer(evaluate_running_experiments.configure(schedule_in={"hours": 1}), timestamp=1).job_id
        run_worker_once()
        assert (job_row(old)["status"], job_row(recent)["status"], job_row(waiting)["status"]) == (
            "succeeded", "succeeded", "todo",
        )  # fmt: skip
        hours = settings.JOB_RETENTION_HOURS + 1
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE procrastinate_events SET at = at - make_interval(hours => %s) WHERE job_id = ANY(%s)",
                [hours, [old, waiting]],
            )
        purge = defer(purge_finished_jobs, timestamp=1).job_id
        run_worker_once()

        assert job_row(purge)["status"] == "succeeded"
        remaining = set(ProcrastinateJob.objects.values_list("id", flat=True))
        assert old not in remaining and {recent, waiting, purge} <= remaining
        assert set(JobRecord.objects.values_list("job_id", flat=True)) == {recent, waiting, purge}

    def test_runs_every_hour(self):
        periodic = app.periodic_registry.periodic_tasks[("gateway.tasks.purge_finished_jobs", "purge-finished-jobs")]
        assert periodic.cron == "0 */1 * * *"


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [(1, "* * * * * */1"), (15, "* * * * * */15"), (60, "*/1 * * * *"), (900, "*/15 * * * *"), (7200, "0 */2 * * *")],
)
def test_periods_become_cron_lines_aligned_on_the_clock(seconds, cron):
    assert cron_every(seconds=seconds) == cron


@pytest.mark.parametrize("seconds", [0, 7, 61, 60 * 7, 3600 * 5])
def test_a_period_that_cannot_align_is_refused(seconds):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        cron_every(seconds=seconds)
