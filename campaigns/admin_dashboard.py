"""The campaigns app's piece of the console's home page (``gateway.admin.dashboard``), registered on import by
``campaigns.admin``: the running experiments closest to a decision, with their leader and confidence."""

from django.template.loader import render_to_string

from campaigns.choices import ExperimentStatus
from campaigns.models import Experiment
from gateway.admin.dashboard import capped_count, dashboard
from gateway.admin.formatting import percent
from gateway.admin.links import change_url, changelist_url

RUNNING_SHOWN = 10


@dashboard.panel(Experiment, order=20)
def running_experiments(request) -> str:
    """The ``RUNNING_SHOWN`` running experiments with the highest recorded confidence (two queries: the rows with
    their leaders, and how many run)."""
    rows = [
        {
            "name": experiment.name,
            "url": change_url(Experiment, experiment.pk),
            "campaign": experiment.campaign.name,
            "leader": experiment.leader["id"] if experiment.leader else None,
            "leader_rate": percent(float(experiment.leader["rate"]), 2) if experiment.leader else "–",
            "confidence": "–" if experiment.confidence is None else f"{experiment.confidence:.1%}",
            "start_date": experiment.start_date,
        }
        for experiment in Experiment.objects.running_leaders(limit=RUNNING_SHOWN)
    ]
    _, running = capped_count(Experiment.objects.running())
    return render_to_string(
        "admin/campaigns/running_experiments.html",
        {
            "rows": rows,
            "running": running,
            "all_url": changelist_url(Experiment, status__exact=ExperimentStatus.RUNNING),
        },
        request=request,
    )
