"""The gateway's own system checks (gateway/checks.py)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from gateway.checks import check_client_side_binding, check_shared_cache, server_side_bound

pytestmark = pytest.mark.django_db


def check_output(*args) -> str:
    """What ``manage.py check`` prints.

    Errors do not stop it: another check's error (async.E001, once a test sets DJANGO_ALLOW_ASYNC_UNSAFE)
    would otherwise raise before the warnings are printed.
    """
    stdout, stderr = StringIO(), StringIO()
    call_command("check", *args, "--fail-level", "CRITICAL", stdout=stdout, stderr=stderr)
    return stdout.getvalue() + stderr.getvalue()


class TestSharedCacheCheck:
    @override_settings(DEBUG=False, REDIS_URL="")
    def test_production_without_redis_url_is_warned(self):
        assert [message.id for message in check_shared_cache(None)] == ["gateway.W001"]

    @override_settings(DEBUG=False, REDIS_URL="redis://127.0.0.1:6379/0")
    def test_production_with_redis_url_passes(self):
        assert check_shared_cache(None) == []

    @override_settings(DEBUG=True, REDIS_URL="")
    def test_development_without_redis_url_passes(self):
        assert check_shared_cache(None) == []

    @override_settings(DEBUG=False, REDIS_URL="")
    def test_the_warning_says_throttling_is_per_process_and_to_set_redis_url(self):
        (message,) = check_shared_cache(None)
        assert "throttling and the cache are per process" in message.msg
        assert "Set REDIS_URL" in message.hint

    @override_settings(DEBUG=False, REDIS_URL="")
    def test_check_deploy_reports_it(self):
        assert "gateway.W001" in check_output("--deploy")

    @override_settings(DEBUG=False, REDIS_URL="")
    def test_the_plain_check_does_not_run_it(self):
        assert "gateway.W001" not in check_output()


class TestClientSideBindingCheck:
    def test_the_projects_databases_pass(self):
        assert check_client_side_binding(None) == []

    def test_a_database_with_server_side_binding_is_named(self):
        databases = {"default": {"OPTIONS": {}}, "replica_1": {"OPTIONS": {"server_side_binding": True}}}

        assert server_side_bound(databases) == ["replica_1"]
