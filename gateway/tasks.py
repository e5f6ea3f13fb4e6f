"""Jobs of the floor: recovering the jobs of workers that died (Procrastinate's stalled-job recipe), building
large changelist exports of the staff console, purging old export and import files, expired idempotency keys,
finished jobs and the history past its retention."""

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from procrastinate.contrib.django import app

from gateway.history import events_purge
from gateway.jobs import TRANSIENT_RETRY, cron_every, is_last_attempt, job_records_purge
from gateway.services import idempotency_keys_purge
from gateway.transfer import export_run, transfer_files_purge

# Hourly: a key lives 24 hours, so an expired one stays at most an hour longer (and is ignored meanwhile).
IDEMPOTENCY_PURGE_SECONDS = 3600


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


@app.periodic(cron=cron_every(seconds=3600), periodic_id="purge-finished-jobs")
@app.task(queueing_lock="gateway.purge_finished_jobs", pass_context=True, retry=TRANSIENT_RETRY)
async def purge_finished_jobs(context, timestamp: int) -> int:
    """Every hour: delete the jobs finished more than ``JOB_RETENTION_HOURS`` ago, in any final state (Procrastinate's
    ``delete_old_jobs``, its ``remove_old_jobs`` recipe), then their records; how many records went."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=settings.JOB_RETENTION_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
    )
    return await sync_to_async(job_records_purge)()


@app.task(retry=TRANSIENT_RETRY, pass_context=True)
def export_changelist(context, *, export_id: str) -> dict:
    """Build a staff member's changelist export too large for a request (``gateway.transfer.export_run``)."""
    return export_run(export_id=export_id, last_attempt=is_last_attempt(context))


@app.periodic(cron=cron_every(seconds=3600), periodic_id="purge-transfer-files")
@app.task(queueing_lock="gateway.purge_transfer_files", retry=TRANSIENT_RETRY)
def purge_transfer_files(timestamp: int) -> dict:
    """Every hour: delete old changelist exports and import uploads never confirmed."""
    return transfer_files_purge()


@app.periodic(cron=cron_every(seconds=IDEMPOTENCY_PURGE_SECONDS), periodic_id="purge-idempotency-keys")
@app.task(queueing_lock="gateway.purge_idempotency_keys", retry=TRANSIENT_RETRY)
def purge_idempotency_keys(timestamp: int) -> int:
    """Delete the idempotency keys past their 24 hours (``gateway.services.idempotency_keys_purge``); how many."""
    return idempotency_keys_purge()


# Daily, as the retention is counted in days: each run walks every expired event still kept (gateway/history.py).
@app.periodic(cron=cron_every(seconds=24 * 3600), periodic_id="purge-history-events")
@app.task(queueing_lock="gateway.purge_history_events", retry=TRANSIENT_RETRY)
def purge_history_events(timestamp: int) -> int:
    """Once a day: delete the history past ``HISTORY_RETENTION_DAYS`` (``gateway.history.events_purge``; 0 keeps it
    all); how many events went."""
    if settings.HISTORY_RETENTION_DAYS <= 0:
        return 0
    return events_purge(older_than=timedelta(days=settings.HISTORY_RETENTION_DAYS))
