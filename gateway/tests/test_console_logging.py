"""What a developer's console shows: no SQL unless asked for, and nothing when attaching to a running server."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

SQL_LOG_LEVEL = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.LOGGING['loggers']['django.db.backends']['level'])"
)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    environment.pop("LOG_SQL", None)
    environment.update({"DJANGO_SETTINGS_MODULE": "gateway.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )


def test_sql_is_not_logged_by_default_in_development():
    assert run_python(SQL_LOG_LEVEL, DEBUG="true").stdout.strip() == "INFO"


def test_log_sql_turns_sql_logging_on_in_development():
    assert run_python(SQL_LOG_LEVEL, DEBUG="true", LOG_SQL="true").stdout.strip() == "DEBUG"


@pytest.mark.django_db
def test_attaching_to_a_running_embedded_server_logs_nothing():
    if connection.settings_dict["ENGINE"] != "gateway.db.embedded":
        pytest.skip("the tests run on DATABASE_URL's server: there is no embedded server to attach to")
    connection.ensure_connection()  # the server of the test database is running now
    data_dir = connection.settings_dict["EMBEDDED_DATA_DIR"]
    attach = (
        "import logging; logging.basicConfig(level=logging.DEBUG); from gateway.embedded import ensure_server; "
        f"ensure_server({str(data_dir)!r}, {connection.settings_dict['EMBEDDED_DATABASE']!r})"
    )
    result = run_python(attach, DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "starting embedded PostgreSQL" not in result.stderr
    assert "attaching to the embedded PostgreSQL" in result.stderr
