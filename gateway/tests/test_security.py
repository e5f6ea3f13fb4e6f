"""Production settings from the environment alone, login lockout, no secrets at rest, no leaks in errors."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import include, path

from gateway import urls as project_urls
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

BASE_DIR = Path(settings.BASE_DIR)
ADMIN_LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"


def raising_view(request):
    raise RuntimeError(f"boom with {settings.SECRET_KEY}")


urlpatterns = [path("raise/", raising_view), path("", include("gateway.urls"))]
handler404 = getattr(project_urls, "handler404", "django.views.defaults.page_not_found")
handler500 = getattr(project_urls, "handler500", "django.views.defaults.server_error")


def production_environment(**overrides) -> dict:
    """A clean environment with only what production must set; nothing inherited but PATH and HOME."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "gateway.example.com",
        # Shared throttle counts and cache for every process (the deploy check gateway.W001 asks for it).
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


class TestProductionSettings:
    def test_the_deploy_check_passes_with_zero_warnings(self):
        result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "System check identified no issues" in output
        assert "WARNING" not in output

    @pytest.mark.parametrize(
        "secret_key",
        ["too-short-but-random-Xq3", "ab" * 40, "django-insecure-" + secrets.token_urlsafe(50)],
        ids=["short", "few-distinct-characters", "django-insecure-prefix"],
    )
    def test_a_weak_secret_key_is_refused(self, secret_key):
        result = manage("check", env=production_environment(SECRET_KEY=secret_key))
        assert result.returncode != 0
        assert "SECRET_KEY is too weak" in result.stderr

    def test_a_missing_secret_key_is_refused(self):
        result = manage("check", env=production_environment(SECRET_KEY=None))
        assert result.returncode != 0
        assert "Set the SECRET_KEY environment variable" in result.stderr

    def test_debug_may_use_the_development_key(self):
        result = manage("check", env=production_environment(DEBUG="true", SECRET_KEY=None))
        assert result.returncode == 0, result.stderr


@pytest.mark.django_db
class TestAdminLoginLockout:
    @pytest.fixture
    def staff(self):
        return AdminUserFactory(email="staff@example.com", password=PASSWORD)

    def fail(self, client, email, times, **extra):
        for _ in range(times):
            response = client.post(ADMIN_LOGIN, {"username": email, "password": "wrong"}, **extra)
            assert response.status_code in (200, 429)

    def login(self, client, email, **extra):
        return client.post(ADMIN_LOGIN, {"username": email, "password": PASSWORD}, **extra)

    def test_the_correct_password_is_refused_after_the_failure_limit(self, client, staff):
        self.fail(client, staff.email, settings.AXES_FAILURE_LIMIT)
        response = self.login(client, staff.email)
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_fewer_failures_than_the_limit_do_not_lock(self, client, staff):
        self.fail(client, staff.email, settings.AXES_FAILURE_LIMIT - 1)
        response = self.login(client, staff.email)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(staff.pk)

    def test_changing_the_case_of_the_email_does_not_get_round_the_lock(self, client, staff):
        self.fail(client, staff.email.upper(), settings.AXES_FAILURE_LIMIT)
        assert self.login(client, staff.email).status_code == 429

    def test_the_lock_is_per_client_address(self, client, staff):
        self.fail(client, staff.email, settings.AXES_FAILURE_LIMIT, REMOTE_ADDR="203.0.113.7")
        assert self.login(client, staff.email, REMOTE_ADDR="203.0.113.7").status_code == 429
        assert self.login(client, staff.email, REMOTE_ADDR="198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_no_issued_api_key_or_password_is_stored_in_plaintext():
    api_key = ApiKeyFactory()
    UserFactory(password=PASSWORD)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cursor.fetchall()]
        found = []
        for table in tables:
            for secret in (api_key.secret, PASSWORD):
                cursor.execute(f'SELECT count(*) FROM "{table}" AS t WHERE t::text LIKE %s', [f"%{secret}%"])
                if cursor.fetchone()[0]:
                    found.append(table)
    assert tables
    assert found == []


@pytest.mark.django_db
@pytest.mark.urls(__name__)
class TestErrorsRevealNothing:
    def test_a_server_error_shows_no_traceback_or_settings(self, client):
        client.raise_request_exception = False
        response = client.get("/raise/")
        body = response.content.decode()
        assert response.status_code == 500
        for leak in ("Traceback", "RuntimeError", "boom", settings.SECRET_KEY, "DATABASES", "gateway.settings"):
            assert leak not in body

    def test_a_404_lists_no_urls(self, client):
        response = client.get("/no-such-page/")
        body = response.content.decode()
        assert response.status_code == 404
        for leak in ("urlpatterns", "URLconf", "admin/", "health/"):
            assert leak not in body
