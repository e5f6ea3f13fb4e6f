"""The project behind a real PgBouncer in transaction mode (Debian's ``pgbouncer``; skipped when it is missing).

The module's fixture starts PgBouncer on a free port in front of the server the test database lives on, with
``pool_mode = transaction`` and ``statement_timeout`` set by PgBouncer's ``connect_query`` (the way
docs/SCALING.md describes). The API tests of three apps then run in a pytest process of their own whose every
connection goes through it (``DATABASE_URL`` on PgBouncer, ``DB_PGBOUNCER=true``).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from conftest import free_port
from gateway.cluster import own_folder, system_user

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(path).exists()), None
)
API_TESTS = [
    "users/tests/test_api.py",
    "media/tests/test_api.py",
    "campaigns/tests/test_api.py",
    # pghistory's context (a set_config sent in the same query string as each write) in and out of transactions.
    "gateway/tests/test_history.py::TestThroughTheApi",
    "gateway/tests/test_history.py::TestOutsideRequests::test_an_autocommit_statement_carries_its_context",
]

pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed (apt-get install pgbouncer)")


class PgBouncer:
    """PgBouncer on 127.0.0.1:``port`` in transaction mode, forwarding every database name to one server."""

    def __init__(self, folder: Path, *, host: str, port: int, user: str):
        self.port = free_port()
        self.user = user
        self.log = folder / "pgbouncer.log"
        (folder / "userlist.txt").write_text(f'"{user}" ""\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={host} port={port} connect_query='SET statement_timeout = {settings.DB_STATEMENT_TIMEOUT_MS}'\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
            "pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 200\n"
            f"logfile = {self.log}\npidfile = {folder / 'pgbouncer.pid'}\n"
        )
        owner = system_user()
        if owner is not None:
            for path in folder.iterdir():
                shutil.chown(path, owner, owner)
        # PgBouncer refuses to run as root: as the embedded server, it runs as that server's system user.
        self.process = subprocess.Popen(
            [PGBOUNCER, str(folder / "pgbouncer.ini")], user=owner, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with self.connect("postgres") as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                assert self.process.poll() is None, f"pgbouncer exited:\n{self.log.read_text()}"
                assert time.monotonic() < deadline, f"pgbouncer did not answer:\n{self.log.read_text()}"
                time.sleep(0.2)

    def connect(self, database: str, **options) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname=database, autocommit=True, **options
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def pgbouncer(django_db_setup, django_db_blocker):
    parent = Path(tempfile.mkdtemp(prefix="gateway-pgbouncer-", dir="/tmp"))
    parent.chmod(0o755)
    with django_db_blocker.unblock():
        params = connection.get_connection_params()
    bouncer = PgBouncer(own_folder(parent / "pgbouncer"), host=params["host"], port=params["port"], user=params["user"])
    yield bouncer
    bouncer.stop()
    shutil.rmtree(parent, ignore_errors=True)


def test_pgbouncer_refuses_a_statement_timeout_sent_at_connection(pgbouncer):
    # Why the settings send no `options` behind PgBouncer (DB_PGBOUNCER=true).
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
        pgbouncer.connect(connection.settings_dict["NAME"], options="-c statement_timeout=1000")


def test_connections_through_pgbouncer_carry_the_statement_timeout(pgbouncer):
    with pgbouncer.connect(connection.settings_dict["NAME"]) as conn:
        setting = conn.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'").fetchone()
    assert setting == (str(settings.DB_STATEMENT_TIMEOUT_MS),)


def test_the_api_tests_pass_through_pgbouncer_in_transaction_mode(pgbouncer):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    test_database = connection.settings_dict["NAME"]
    environment.update(
        # The inner run uses this test database alone (TEST_DATABASE_NAME); the URL names it too.
        DATABASE_URL=f"postgres://{pgbouncer.user}@127.0.0.1:{pgbouncer.port}/{test_database}",
        TEST_DATABASE_NAME=test_database,
        DB_PGBOUNCER="true",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *API_TESTS, "-q", "-x", "-p", "no:randomly"],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
