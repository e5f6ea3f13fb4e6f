"""Prometheus metrics: django-prometheus measures requests, the database and the cache; these add ours.

``/metrics`` answers only a request with ``Authorization: Bearer <METRICS_TOKEN>``; with no token
configured it does not exist (404). Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (``make serve``
does) so the answer sums every worker process, not just the one that happens to serve the scrape.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import Counter

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
    return ExportToDjangoView(request)
