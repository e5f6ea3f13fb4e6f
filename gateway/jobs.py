"""Job plumbing every app's tasks share (Procrastinate, docs/JOBS.md).

- ``defer(task, user=..., **kwargs)`` queues a job in the caller's transaction (Procrastinate's Django
  connector writes through Django's connection, so a rolled-back write leaves no job and a committed one
  always has its job) and records who queued it and the request id (``JobRecord``).
- ``TRANSIENT_RETRY``, the retry strategy of tasks: Procrastinate's own ``RetryStrategy``, retrying only
  the errors that may pass (the database unreachable, a lock or statement timeout, a deadlock) with
  exponential backoff; bad input (``ValidationError``) and bugs fail at once.
- ``job_middleware`` wraps every (sync) job in a worker: its log lines and history events carry the request
  id that queued it (``job-<id>`` for jobs no request queued), its history events the task's name too, its
  row locks wait at most ``JOB_LOCK_TIMEOUT_MS`` (then a lock timeout, retried), its result or error lands on
  its ``JobRecord``, and its connection goes back.
- ``is_last_attempt(context)``: whether a job (a task with ``pass_context=True``) will not be retried if it fails.
- ``job_records_purge()``: deletes the records of jobs Procrastinate no longer has.
- ``queue_state()``: the queue now (jobs waiting and running, the oldest due job's wait, workers alive), which
  ``/metrics`` reports (gateway/metrics.py).
- ``cron_every(seconds)``: the cron line of periodic tasks from a setting.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob, ProcrastinateWorker

from gateway import history
from gateway.models import JobRecord
from gateway.request_context import bound, current_request_id

logger = logging.getLogger(__name__)

# Django wraps the driver's errors (a lock timeout, a deadlock, a cancelled statement and a lost connection
# are all psycopg OperationalErrors); Procrastinate's own queries raise psycopg's.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

TRANSIENT_RETRY = RetryStrategy(
    max_attempts=settings.JOB_MAX_ATTEMPTS,
    exponential_wait=settings.JOB_RETRY_BASE_SECONDS,
    retry_exceptions=TRANSIENT_ERRORS,
)


def is_last_attempt(context) -> bool:
    """Whether the running job is not retried when it fails, transient error or not (``TRANSIENT_RETRY``).

    ``context.job.attempts`` counts the earlier attempts; Procrastinate retries while it is below ``max_attempts``
    (no limit at all when that is 0).
    """
    limit = TRANSIENT_RETRY.max_attempts
    return bool(limit) and context.job.attempts >= limit


def defer(task, *, user=None, **task_kwargs) -> JobRecord:
    """Queue a job of ``task`` with ``task_kwargs`` in the current transaction; its record (caller, request id)."""
    with transaction.atomic():
        job_id = task.defer(**task_kwargs)
        return JobRecord.objects.create(job_id=job_id, user=user, request_id=current_request_id())


def job_middleware(call_next, context, worker):
    """Procrastinate task middleware: request id, lock timeout, result and error of every sync job."""
    job_id = context.job.id
    close_old_connections()
    try:
        record = JobRecord.objects.filter(job_id=job_id).values("request_id", "user_id").first() or {}
        request_id = record.get("request_id") or f"job-{job_id}"
        with (
            bound(request_id=request_id, user_id=record.get("user_id")),
            history.job_context(request_id=request_id, task=context.job.task_name, user_id=record.get("user_id")),
        ):
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{settings.JOB_LOCK_TIMEOUT_MS}ms"])
            started = time.perf_counter()
            try:
                result = call_next()
            except Exception as error:
                logger.warning(
                    "job %s %s attempt %d failed: %s: %s",
                    job_id, context.job.task_name, context.job.attempts, type(error).__name__, error,
                )  # fmt: skip
                _record_outcome(job_id, error=f"{type(error).__name__}: {error}")
                raise
            logger.info("job %s %s succeeded in %.2f s", job_id, context.job.task_name, time.perf_counter() - started)
            _record_outcome(job_id, result=result)
            return result
    finally:
        close_old_connections()


def job_records_purge() -> int:
    """Delete the ``JobRecord`` rows whose job is gone (deleted by ``gateway.tasks.purge_finished_jobs``); how many.

    A record is written with its job, in the same transaction, so a record without a job is one whose job was
    deleted: nothing will ever read it again.
    """
    deleted, _ = JobRecord.objects.filter(~Exists(ProcrastinateJob.objects.filter(id=OuterRef("job_id")))).delete()
    return deleted


@dataclass(frozen=True)
class QueueState:
    """The job queue at one moment (``queue_state``)."""

    jobs: dict[tuple[str, str], int]  # (queue, status) -> how many, for the statuses todo and doing
    oldest_due_seconds: float  # how long the job due the longest has waited for a worker; 0 when none waits
    workers_alive: int  # workers whose heartbeat is younger than JOB_STALLED_WORKER_SECONDS


def queue_state() -> QueueState:
    """The job queue now, as PostgreSQL holds it: three queries, none over the finished jobs' history."""
    now = timezone.now()
    waiting_or_running = ProcrastinateJob.objects.filter(status__in=("todo", "doing"))
    jobs = {
        (row["queue_name"], row["status"]): row["count"]
        for row in waiting_or_running.values("queue_name", "status").annotate(count=Count("id")).order_by()
    }
    # A job is due from the time it was scheduled for (a retry's or a scheduled job's) or else since it was queued.
    queued_at = ProcrastinateEvent.objects.filter(job=OuterRef("pk"), type="deferred").values("at")[:1]
    oldest_due = (
        ProcrastinateJob.objects.filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now), status="todo")
        .annotate(due_since=Coalesce("scheduled_at", Subquery(queued_at)))
        .aggregate(oldest=Min("due_since"))["oldest"]
    )
    heartbeat_after = now - timedelta(seconds=settings.JOB_STALLED_WORKER_SECONDS)
    return QueueState(
        jobs=jobs,
        oldest_due_seconds=max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0,
        workers_alive=ProcrastinateWorker.objects.filter(last_heartbeat__gt=heartbeat_after).count(),
    )


def _record_outcome(job_id: int, *, result=None, error: str | None = None) -> None:
    """Store a job's result (or its last error) on its record; a database error here must not hide the job's."""
    try:
        JobRecord.objects.update_or_create(job_id=job_id, defaults={"result": result, "error": error})
    except DatabaseError:
        if error is None:
            raise
        logger.warning("could not record the error of job %s", job_id, exc_info=True)


def on_app_ready(app) -> None:
    """``PROCRASTINATE_ON_APP_READY``: every worker wraps sync jobs in ``job_middleware``."""
    app.worker_defaults = {**app.worker_defaults, "task_middleware": [job_middleware]}


def cron_every(*, seconds: int) -> str:
    """The cron line (seconds as the optional sixth field) of "every ``seconds``", aligned on the clock."""
    if 0 < seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    minutes, remainder = divmod(seconds, 60)
    if remainder == 0 and 0 < minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours, remainder = divmod(minutes, 60)
    if remainder == 0 and 0 < hours <= 24 and 24 % hours == 0:
        return f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"
    raise ImproperlyConfigured(
        f"A period of {seconds} s cannot be aligned on the clock: use a divisor of 60 s, of 60 minutes or of 24 hours."
    )
