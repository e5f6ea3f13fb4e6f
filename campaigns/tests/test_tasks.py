"""The campaigns jobs (campaigns/tasks.py): the periodic evaluation of running experiments, and its bodies.

The schedule is tested with a controllable clock: Procrastinate's own ``PeriodicDeferrer`` (what every
worker runs) is asked what is due at chosen times; the jobs it queues are then run by a real worker.
"""

import datetime

import pytest
from asgiref.sync import async_to_sync
from procrastinate.contrib.django import app
from procrastinate.periodic import PeriodicDeferrer, PeriodicRegistry

from campaigns.choices import ExperimentStatus
from campaigns.factories import CampaignFactory, ExperimentFactory
from campaigns.services import experiments_evaluate_running
from campaigns.tasks import evaluate_experiment, evaluate_running_experiments
from gateway.models import JobRecord
from gateway.tests.job_helpers import job_row, run_worker_once

VARIANTS = [
    {"id": "variant-a", "name": "A", "impressions": 50_000, "clicks": 1_500, "conversions": 75},
    {"id": "variant-b", "name": "B", "impressions": 50_000, "clicks": 1_750, "conversions": 160},
]
QUARTER = datetime.timedelta(minutes=15)
NOON = datetime.datetime(2030, 1, 7, 12, 0, tzinfo=datetime.UTC)


def running(**fields):
    return ExperimentFactory(
        **{"campaign": CampaignFactory(), "variants": VARIANTS, "status": ExperimentStatus.RUNNING, **fields}
    )


def deferrer() -> PeriodicDeferrer:
    """A worker's periodic deferrer, knowing only the experiments' schedule."""
    registry = PeriodicRegistry()
    for (task_name, periodic_id), periodic_task in app.periodic_registry.periodic_tasks.items():
        if task_name == evaluate_running_experiments.name:
            registry.periodic_tasks[(task_name, periodic_id)] = periodic_task
    return PeriodicDeferrer(registry=registry)


def tick(periodic: PeriodicDeferrer, at: datetime.datetime) -> list[int]:
    """What ``periodic`` queues when its clock says ``at``: the scheduled timestamps."""
    due = list(periodic.get_previous_tasks(at=at.timestamp()))
    async_to_sync(periodic.defer_jobs)(due)
    return [timestamp for _, timestamp in due]


def queued_timestamps() -> list[int]:
    from procrastinate.contrib.django.models import ProcrastinateJob

    jobs = ProcrastinateJob.objects.filter(task_name=evaluate_running_experiments.name).order_by("id")
    return [job.args["timestamp"] for job in jobs]


@pytest.mark.django_db(transaction=True)
def test_the_periodic_evaluation_runs_on_schedule(empty_queue):
    automatic, manual = running(auto_apply=True), running(auto_apply=False)
    worker_clock = deferrer()

    assert tick(worker_clock, NOON + datetime.timedelta(minutes=7)) == [NOON.timestamp()]
    assert tick(worker_clock, NOON + datetime.timedelta(minutes=14, seconds=59)) == []
    run_worker_once()
    assert tick(worker_clock, NOON + QUARTER) == [(NOON + QUARTER).timestamp()]
    # A second worker asking at the same tick queues nothing more: the database keeps one job per tick.
    tick(deferrer(), NOON + QUARTER)
    # While an evaluation waits for a worker, the next tick adds none (the task's queueing lock).
    tick(worker_clock, NOON + 2 * QUARTER)
    assert queued_timestamps() == [NOON.timestamp(), (NOON + QUARTER).timestamp()]

    run_worker_once()

    for record in JobRecord.objects.filter(job__task_name=evaluate_running_experiments.name):
        assert job_row(record.job_id)["status"] == "succeeded"
        assert record.user is None
    first = JobRecord.objects.filter(job__task_name=evaluate_running_experiments.name).order_by("job_id").first()
    assert first.result["evaluated"] == 2
    automatic.refresh_from_db()
    manual.refresh_from_db()
    assert (automatic.status, automatic.winner_variant_id) == (ExperimentStatus.COMPLETED, "variant-b")
    # Without auto_apply the statistics are recorded, the winner is not declared.
    assert (manual.status, manual.winner_variant_id) == (ExperimentStatus.RUNNING, None)
    assert manual.metrics["winner"] == "variant-b"
    assert manual.confidence == pytest.approx(automatic.confidence)


@pytest.mark.django_db
class TestBodies:
    def test_the_periodic_evaluation_applies_only_where_auto_apply_is_set(self):
        automatic, manual = running(auto_apply=True), running(auto_apply=False)
        report = evaluate_running_experiments(timestamp=int(NOON.timestamp()))
        assert (report["evaluated"], report["winners"], report["failed"]) == (2, 2, [])
        automatic.refresh_from_db()
        manual.refresh_from_db()
        assert automatic.winner_variant_id == "variant-b"
        assert manual.winner_variant_id is None
        assert manual.metrics["metric"] == "conversion_rate"

    def test_an_experiment_that_cannot_be_evaluated_does_not_stop_the_others(self):
        broken, fine = running(variants=VARIANTS[:1]), running(auto_apply=True)
        report = experiments_evaluate_running(apply=True)
        assert [failure["experiment"] for failure in report["failed"]] == [broken.pk]
        fine.refresh_from_db()
        assert fine.winner_variant_id == "variant-b"

    def test_running_the_evaluation_job_twice_does_no_harm(self):
        experiment = running()
        arguments = {"experiment_id": str(experiment.pk), "metric": "ctr", "threshold": 0.95, "min_sample": 1000}
        first = evaluate_experiment(**arguments)
        experiment.refresh_from_db()
        selected_at = experiment.winner_selected_at
        second = evaluate_experiment(**arguments)
        experiment.refresh_from_db()
        assert first["winner_variant_id"] == second["winner_variant_id"] == "variant-b"
        assert experiment.winner_selected_at == selected_at
        assert experiment.status == ExperimentStatus.COMPLETED
