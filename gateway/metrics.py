"""Prometheus metrics: django-prometheus measures requests, the database and the cache; these add ours.

``/metrics`` answers only a request with ``Authorization: Bearer <METRICS_TOKEN>``; with no token
configured it does not exist (404). Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (``make serve``
does) so the answer sums every worker process, not just the one that happens to serve the scrape.
The job queue's figures are read from PostgreSQL by the process serving the scrape (``JobQueueCollector``):
no process counts them, the queue itself holds them.
"""

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

api_key_authentications = Counter(
    "gateway_api_key_authentications_total",
    "API-key authentications by outcome: success, refused (unknown, revoked, expired, inactive user), malformed.",
    ["outcome"],
)
throttled_requests = Counter(
    "gateway_throttled_requests_total",
    "API requests refused with a 429 by the rate limits, by throttle scope (api_key, anon).",
    ["scope"],
)


class JobQueueCollector:
    """The job queue now (``gateway.jobs.queue_state``), read at each scrape; nothing when the database is away."""

    def collect(self):
        from gateway.jobs import queue_state  # the job models need the app registry, ready by the first scrape

        try:
            state = queue_state()
        except DatabaseError:
            logger.warning("the job queue could not be read for /metrics", exc_info=True)
            return
        jobs = GaugeMetricFamily(
            "gateway_jobs", "Jobs waiting (todo) and running (doing), by queue.", labels=["queue", "status"]
        )
        for (queue, status), count in sorted(state.jobs.items()):
            jobs.add_metric([queue, status], count)
        yield jobs
        yield GaugeMetricFamily(
            "gateway_jobs_oldest_due_seconds",
            "How long the job due the longest has waited for a worker, in seconds (0 when none waits).",
            value=state.oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "gateway_job_workers_alive",
            "Job workers whose heartbeat is younger than JOB_STALLED_WORKER_SECONDS.",
            value=state.workers_alive,
        )


# A registry of its own: the default one is replaced by the multi-process folder's under gunicorn.
job_queue_registry = CollectorRegistry()
job_queue_registry.register(JobQueueCollector())


@csrf_exempt
@require_GET
def metrics_view(request) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return JsonResponse({"detail": "Not found."}, status=404)
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), token.encode()):
        response = JsonResponse({"detail": "A valid bearer token is required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = ExportToDjangoView(request)
    response.content += generate_latest(job_queue_registry)
    return response
