"""Redis down: every API endpoint still answers as usual; throttling stops counting and says so in the log.

The cache is the project's ``gateway.cache.ResilientRedisCache`` pointed at a closed port (what
``REDIS_URL`` gives in production, with Redis gone). ``test_faults.py`` covers the cache itself, readiness
and a list request; here every endpoint of the authorization matrix is called as the caller that succeeds
there (an ADMIN) and must get the same status as with a working cache, and throttling fails open.
"""

import logging

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from gateway.tests import test_authorization_matrix as matrix
from gateway.tests.fault_helpers import UNREACHABLE_RESILIENT_REDIS
from users.factories import ApiKeyFactory

# fresh_breakers (gateway/tests/conftest.py): Redis is not yet believed down, so each test tries, fails and logs.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_breakers", "redis_down")]

world = matrix.world


@pytest.fixture
def redis_down():
    with override_settings(CACHES=UNREACHABLE_RESILIENT_REDIS):
        yield


def rates(api_key="2/minute", anon="2/minute"):
    from django.conf import settings

    return {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": api_key, "anon": anon}}


@pytest.mark.parametrize(
    ("method", "path", "variant", "body", "expected"),
    [
        pytest.param(method, path, variant, body, expected["admin"], id=f"{method} {path} {variant or ''}")
        for method, path, variant, body, expected in matrix.MATRIX
    ],
)
def test_every_endpoint_answers_as_usual_with_redis_down(world, caplog, method, path, variant, body, expected):
    with caplog.at_level(logging.WARNING, logger="gateway.cache"):
        response = matrix.request_for(world, "admin", method, path, variant, body)
    assert response.status_code == expected, response.content[:300]
    assert "unreachable" in caplog.text  # the throttle tried Redis, and the log says it is down


def test_throttling_fails_open_with_redis_down(user):
    key = ApiKeyFactory(user=user).secret
    client = APIClient()
    with override_settings(REST_FRAMEWORK=rates()):
        statuses = [client.get("/api/v1/users/me/", HTTP_X_API_KEY=key).status_code for _ in range(5)]
    assert statuses == [200] * 5  # 2/minute would refuse the third with a working cache


def test_anonymous_docs_are_served_with_redis_down(api_client):
    with override_settings(REST_FRAMEWORK=rates(anon="1/minute")):
        statuses = [api_client.get("/api/schema/").status_code for _ in range(3)]
    assert statuses == [200] * 3


def test_an_outage_costs_one_log_line_per_retry_interval_not_one_per_request(user, caplog):
    key = ApiKeyFactory(user=user).secret
    client = APIClient()
    with caplog.at_level(logging.WARNING, logger="gateway.cache"):
        for _ in range(20):
            assert client.get("/api/v1/assets/", HTTP_X_API_KEY=key).status_code == 200
    assert len([record for record in caplog.records if record.name == "gateway.cache"]) == 1
