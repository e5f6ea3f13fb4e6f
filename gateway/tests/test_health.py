"""Liveness and readiness probes, with real failures: a closed port, a missing migration, a dead cache."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from gateway.tests.fault_helpers import unreachable_redis_caches

pytestmark = pytest.mark.django_db

# Django's own Redis cache, not the project's resilient one: readiness must cope with a cache that raises.
UNREACHABLE_REDIS = unreachable_redis_caches("django.core.cache.backends.redis.RedisCache")


@pytest.fixture
def unapplied_migration():
    """Forget the latest applied migration of an app; the test's transaction puts the row back."""
    app, name = MigrationLoader(connection).graph.leaf_nodes("knowledge")[0]
    assert MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()[0] == 1


def readiness(client, status_code: int) -> dict:
    """The body of /health/ready, once its status is checked to be ``status_code``."""
    response = client.get("/health/ready")
    assert response.status_code == status_code
    return response.json()


def test_live_is_200(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_everything_is_ok(client):
    checks = {"database": "ok", "migrations": "ok", "cache": "ok"}
    assert readiness(client, 200) == {"status": "ok", "failing": [], "checks": checks}


@pytest.mark.usefixtures("unreachable_database")
def test_ready_is_503_naming_the_database_when_it_is_unreachable(client):
    checks = {"database": "unreachable", "migrations": "skipped", "cache": "ok"}
    assert readiness(client, 503) == {"status": "unavailable", "failing": ["database"], "checks": checks}


@pytest.mark.usefixtures("unapplied_migration")
def test_ready_is_503_naming_migrations_when_one_is_pending(client):
    checks = {"database": "ok", "migrations": "pending", "cache": "ok"}
    assert readiness(client, 503) == {"status": "unavailable", "failing": ["migrations"], "checks": checks}


@override_settings(CACHES=UNREACHABLE_REDIS)
def test_ready_is_200_with_the_cache_degraded_when_only_the_cache_is_unreachable(client):
    checks = {"database": "ok", "migrations": "ok", "cache": "degraded"}
    assert readiness(client, 200) == {"status": "degraded", "failing": [], "checks": checks}


def test_ready_answers_only_get(client):
    assert client.post("/health/ready").status_code == 405
