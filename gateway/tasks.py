"""Jobs of the floor: recovering the jobs of workers that died (Procrastinate's stalled-job recipe)."""

from django.conf import settings
from procrastinate.contrib.django import app

from gateway.jobs import cron_every


@app.periodic(cron=cron_every(seconds=settings.JOB_STALLED_CHECK_SECONDS), periodic_id="stalled-jobs")
@app.task(queueing_lock="gateway.retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Put back in the queue the jobs left ``doing`` by a worker silent for ``JOB_STALLED_WORKER_SECONDS``.

    A worker killed (SIGKILL, a lost machine) mid-job cannot say it stopped; its heartbeat does. The job
    runs again on any worker, so job bodies are idempotent. Returns how many jobs were put back.
    """
    stalled = await context.app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.JOB_STALLED_WORKER_SECONDS
    )
    for job in stalled:
        await context.app.job_manager.retry_job(job)
    return len(stalled)
