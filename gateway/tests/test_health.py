"""Liveness and readiness probes, with real failures: a closed port, a missing migration, a dead cache."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: connecting is refused at once.
CLOSED_PORT = 1
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def unreachable_database():
    """Make the default alias a PostgreSQL connection to a closed port for the length of the test.

    The test's own connection (and its transaction) is set aside untouched and put back afterwards.
    """
    original = connections[DEFAULT_DB_ALIAS]
    settings_dict = {
        **original.settings_dict,
        "HOST": "127.0.0.1",
        "PORT": CLOSED_PORT,
        "OPTIONS": {"connect_timeout": 1},
        "CONN_HEALTH_CHECKS": False,
    }
    connections[DEFAULT_DB_ALIAS] = DatabaseWrapper(settings_dict, alias=DEFAULT_DB_ALIAS)
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections[DEFAULT_DB_ALIAS] = original


@pytest.fixture
def unapplied_migration():
    """Forget the latest applied migration of an app; the test's transaction puts the row back."""
    app, name = MigrationLoader(connection).graph.leaf_nodes("knowledge")[0]
    assert MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()[0] == 1


def test_live_is_200(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_everything_is_ok(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    }


@pytest.mark.usefixtures("unreachable_database")
def test_ready_is_503_naming_the_database_when_it_is_unreachable(client):
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["database"])
    assert body["checks"] == {"database": "unreachable", "migrations": "skipped", "cache": "ok"}


@pytest.mark.usefixtures("unapplied_migration")
def test_ready_is_503_naming_migrations_when_one_is_pending(client):
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"]) == ("unavailable", ["migrations"])
    assert body["checks"] == {"database": "ok", "migrations": "pending", "cache": "ok"}


@override_settings(CACHES=UNREACHABLE_REDIS)
def test_ready_is_200_with_the_cache_degraded_when_only_the_cache_is_unreachable(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "failing": [],
        "checks": {"database": "ok", "migrations": "ok", "cache": "degraded"},
    }


def test_ready_answers_only_get(client):
    assert client.post("/health/ready").status_code == 405
