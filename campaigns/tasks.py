"""Jobs of the campaigns app (Procrastinate; docs/JOBS.md): experiment evaluations.

Each body is idempotent: evaluating and storing again stores the same outcome (the winner's first
selection time is kept), so a retried job, or one run again after its worker died, does no harm.
"""

from django.conf import settings
from procrastinate.contrib.django import app

from campaigns.api.analytics_serializers import ExperimentEvaluationSerializer
from campaigns.models import Experiment
from campaigns.services import experiment_evaluate, experiments_evaluate_running
from gateway.jobs import TRANSIENT_RETRY, cron_every


@app.task(retry=TRANSIENT_RETRY)
def evaluate_experiment(*, experiment_id: str, metric: str, threshold: float, min_sample: int) -> dict:
    """``POST experiments/{id}/evaluate/`` with ``apply``: evaluate and store; the answer the request would get."""
    experiment = Experiment.all_objects.get(pk=experiment_id)
    outcome = experiment_evaluate(
        experiment=experiment, metric=metric, threshold=threshold, min_sample=min_sample, apply=True
    )
    return ExperimentEvaluationSerializer(outcome).data


@app.periodic(cron=cron_every(seconds=settings.EXPERIMENT_EVALUATION_MINUTES * 60), periodic_id="experiments")
@app.task(queueing_lock="campaigns.evaluate_running_experiments", retry=TRANSIENT_RETRY)
def evaluate_running_experiments(timestamp: int) -> dict:
    """Every ``EXPERIMENT_EVALUATION_MINUTES``: evaluate every running experiment and store the statistics.

    The winner is declared only where the experiment's ``auto_apply`` is set. ``timestamp`` is the
    scheduled time Procrastinate passes (one job per tick however many workers run).
    """
    return {"scheduled_at": timestamp, **experiments_evaluate_running(apply=True)}
