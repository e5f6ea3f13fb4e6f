"""Liveness and readiness probes for load balancers and orchestrators.

``/health/ready`` is 503 when the database is unreachable or migrations are pending; an
unreachable cache, or a read replica that is down or lagging (reads then go to the primary), is
reported as degraded with a 200, so such an outage does not take every node out of rotation.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from gateway.db.replicas import OK, health, replica_aliases

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    checks = {"database": _check_database(), "migrations": "skipped", "cache": _check_cache()}
    if checks["database"] == "ok":
        checks["migrations"] = _check_migrations()
    replicas = {alias: health.check(alias).as_dict() for alias in replica_aliases()}
    # A part that was not checked (migrations, when the database is down) is not the one failing.
    failing = [part for part in ("database", "migrations") if checks[part] not in ("ok", "skipped")]
    if failing:
        status, http_status = "unavailable", 503
    elif checks["cache"] != "ok" or any(replica["state"] != OK for replica in replicas.values()):
        status, http_status = "degraded", 200
    else:
        status, http_status = "ok", 200
    body = {"status": status, "failing": failing, "checks": checks}
    if replicas:
        body["replicas"] = replicas
    return JsonResponse(body, status=http_status)


def _check_database() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as error:  # any driver or pool error means "not reachable"
        logger.warning("readiness: database unreachable: %s", error)
        # Drop the broken connection so the next request reconnects instead of reusing it.
        connection.close_if_unusable_or_obsolete()
        return "unreachable"


def _check_migrations() -> str:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:
        logger.warning("readiness: could not read migrations: %s", error)
        return "unreachable"
    return "pending" if pending else "ok"


def _check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=5)
        value = cache.get(key)
        cache.delete(key)
    except Exception as error:  # redis-py raises its own ConnectionError/TimeoutError
        logger.warning("readiness: cache unreachable: %s", error)
        return "degraded"
    return "ok" if value == "ok" else "degraded"
