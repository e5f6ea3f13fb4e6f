"""The cache of verified API keys: a busy client is not looked up on every request, and nothing it
trusts outlives ``API_KEY_CACHE_SECONDS`` (at most one second), on any process."""

import datetime
import time

import orjson
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import gunicorn_command, serve
from users.choices import Role
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory
from users.services import api_key_revoke, user_soft_delete, user_update, verified_keys

ME = "/api/v1/users/me/"


@pytest.fixture(autouse=True)
def empty_cache():
    verified_keys.clear()  # as in a new process: no test sees what another one verified
    yield
    verified_keys.clear()


def key_lookups(client, secret: str) -> tuple[int, int]:
    """(status, how many queries read the api_keys table) of one request with ``secret``."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(ME, HTTP_X_API_KEY=secret)
    return response.status_code, sum('FROM "api_keys"' in query["sql"] for query in captured.captured_queries)


@pytest.mark.django_db
class TestInOneProcess:
    @pytest.fixture(autouse=True)
    def cache_on(self, settings):
        settings.API_KEY_CACHE_SECONDS = 1

    def test_a_key_verified_a_moment_ago_is_not_looked_up_again(self):
        key = ApiKeyFactory(user=UserFactory())
        client = APIClient()
        assert key_lookups(client, key.secret) == (200, 1)
        assert key_lookups(client, key.secret) == (200, 0)

    def test_a_cached_key_still_answers_as_its_user(self):
        user = UserFactory(name="Cached")
        key = ApiKeyFactory(user=user)
        client = APIClient()
        client.get(ME, HTTP_X_API_KEY=key.secret)
        response = client.get(ME, HTTP_X_API_KEY=key.secret)
        assert (response.status_code, response.json()["id"], response.json()["name"]) == (200, str(user.pk), "Cached")

    def test_a_wrong_secret_with_a_cached_keys_prefix_is_refused(self):
        key = ApiKeyFactory(user=UserFactory())
        client = APIClient()
        client.get(ME, HTTP_X_API_KEY=key.secret)
        wrong = key.secret[:-1] + ("a" if key.secret[-1] != "a" else "b")
        assert client.get(ME, HTTP_X_API_KEY=wrong).status_code == 401

    def test_a_revoked_key_is_refused_at_once(self):
        key = ApiKeyFactory(user=UserFactory())
        client = APIClient()
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 200
        api_key_revoke(api_key=key)
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_a_deactivated_user_is_refused_at_once(self):
        key = ApiKeyFactory(user=UserFactory())
        client = APIClient()
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 200
        user_update(user=key.user, is_active=False)
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_a_deleted_user_is_refused_at_once(self):
        key = ApiKeyFactory(user=UserFactory())
        client = APIClient()
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 200
        user_soft_delete(user=key.user)
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_a_new_role_counts_at_once(self):
        AdminUserFactory()  # someone stays ADMIN
        key = ApiKeyFactory(user=UserFactory(role=Role.ADMIN))
        client = APIClient()
        assert client.get(ME, HTTP_X_API_KEY=key.secret).json()["role"] == Role.ADMIN
        user_update(user=key.user, role=Role.USER)
        assert client.get(ME, HTTP_X_API_KEY=key.secret).json()["role"] == Role.USER

    def test_a_key_expiring_while_cached_is_refused(self):
        key = ApiKeyFactory(user=UserFactory(), expires_at=timezone.now() + datetime.timedelta(seconds=0.4))
        client = APIClient()
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 200
        time.sleep(0.5)  # the entry is half a second old: young enough, but the key has expired
        assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401


@pytest.mark.django_db
@override_settings(API_KEY_CACHE_SECONDS=0.3)
def test_a_change_made_elsewhere_counts_once_the_entry_is_older_than_the_setting():
    key = ApiKeyFactory(user=UserFactory())
    client = APIClient()
    assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 200
    # What another process's revocation does to this one: the row changes, no signal reaches here.
    type(key).objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 200  # trusted for 0.3 s...
    time.sleep(0.35)
    assert client.get(ME, HTTP_X_API_KEY=key.secret).status_code == 401  # ...and no longer


@pytest.mark.django_db
@override_settings(API_KEY_CACHE_SECONDS=0)
def test_zero_turns_the_cache_off():
    key = ApiKeyFactory(user=UserFactory())
    client = APIClient()
    assert key_lookups(client, key.secret) == (200, 1)
    assert key_lookups(client, key.secret) == (200, 1)


@pytest.fixture
def two_servers(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two server processes of the project (gunicorn, one worker each) with the production cache setting."""
    with django_db_blocker.unblock():
        servers = [serve(tmp_path_factory, gunicorn_command(workers=1), {"API_KEY_CACHE_SECONDS": "1"}) for _ in "ab"]
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_on_one_process_stops_working_on_the_other_within_one_second(two_servers):
    first, second = two_servers
    key = ApiKeyFactory(user=UserFactory())
    headers = {"X-API-Key": key.secret}
    for server in two_servers:  # both verify the key, and so cache it
        assert server.request("GET", ME, headers=headers)[0] == 200
    status, _, body = first.request("POST", f"/api/v1/api-keys/{key.pk}/revoke/", headers=headers)
    revoked_at = time.monotonic()
    assert (status, orjson.loads(body)["revoked_at"] is not None) == (200, True)
    assert first.request("GET", ME, headers=headers)[0] == 401  # the revoking process: at once
    time.sleep(max(0.0, revoked_at + 1.0 - time.monotonic()))
    assert second.request("GET", ME, headers=headers)[0] == 401  # the other: within one second
