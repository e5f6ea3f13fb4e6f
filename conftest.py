"""Fixtures every test may want."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from gateway.tests.api_helpers import client_for
from users.factories import AdminUserFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    """A second USER, owner of the rows ``user`` must not reach."""
    return UserFactory()


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user_client(user):
    """An API client authenticated with an API key of ``user``."""
    return client_for(user)


@pytest.fixture
def other_client(other_user):
    """An API client authenticated with an API key of ``other_user``."""
    return client_for(other_user)


@pytest.fixture
def admin_client_api(admin_user):
    """An API client authenticated with an API key of an ADMIN."""
    return client_for(admin_user)


@pytest.fixture
def empty_queue(transactional_db):
    """No Procrastinate job, event or worker left from another test (a worker started by the test would run them)."""
    tables = "procrastinate_periodic_defers, procrastinate_events, procrastinate_jobs, procrastinate_workers"
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_environment() -> dict:
    """Environment variables that point a new process of the project at the test database."""
    database = connection.settings_dict
    if database["ENGINE"] == "gateway.db.embedded":
        return {
            "DATABASE_URL": "",
            "EMBEDDED_DATA_DIR": str(database["EMBEDDED_DATA_DIR"]),
            "EMBEDDED_DATABASE": database["NAME"],
        }
    user = database["USER"] or ""
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    port = f":{database['PORT']}" if database["PORT"] else ""
    return {"DATABASE_URL": f"postgres://{user}{password}@{database['HOST']}{port}/{database['NAME']}"}


class ServedProject:
    """A server process of the project on 127.0.0.1 against the test database, and a log of what it said."""

    def __init__(self, command: list[str], env: dict, log: Path):
        self.port = free_port()
        self.log = log
        command = [part.format(port=self.port) for part in command]
        with log.open("wb") as output:
            self.process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=output, stderr=output)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, f"the server exited:\n{log.read_text()[-4000:]}"
            try:
                if self.request("GET", "/health/live")[0] == 200:
                    return
            except OSError:
                assert time.monotonic() < deadline, f"the server did not answer within 60 s:\n{log.read_text()}"
                time.sleep(0.2)

    def connect(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body) of one request on a connection of its own."""
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def server_environment(variables: dict) -> dict:
    """The environment of a server process of the project (DEBUG off, on 127.0.0.1) with ``variables`` added."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))},
        "DJANGO_SETTINGS_MODULE": "gateway.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        **variables,
    }


def serve(tmp_path_factory, command: list[str], environment: dict | None = None) -> ServedProject:
    """``command`` run as a server of the project on the test database; ``environment`` adds or overrides variables."""
    env = server_environment({**test_database_environment(), **(environment or {})})
    return ServedProject(command, env, tmp_path_factory.mktemp("served") / "server.log")


def gunicorn_command(workers: int = 2) -> list[str]:
    """`make serve`'s gunicorn with ``workers`` workers of 4 threads, on the port ``ServedProject`` fills in."""
    return [
        str(Path(sys.executable).with_name("gunicorn")), "gateway.wsgi", "--bind", "127.0.0.1:{port}",
        "--workers", str(workers), "--threads", "4",
        "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket",
    ]  # fmt: skip


GUNICORN_COMMAND = gunicorn_command()


@pytest.fixture(scope="session")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """The app as ``make serve`` runs it: gunicorn, DEBUG off, 2 workers x 4 threads, the connection pool.

    It reads and writes the test database, so the tests that use it see its writes only when they are
    committed: mark them ``django_db(transaction=True)``.
    """
    with django_db_blocker.unblock():
        server = serve(tmp_path_factory, GUNICORN_COMMAND)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def development_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """The app as ``make run`` serves it: Django's development server (run with DEBUG off, as tests are)."""
    command = [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload", "--skip-checks"]
    with django_db_blocker.unblock():
        server = serve(tmp_path_factory, command)
    yield server
    server.stop()
