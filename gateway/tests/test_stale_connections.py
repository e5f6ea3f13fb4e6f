"""Pooled connections the server ended: found by a quiet look at the socket, or by their first statement.

The pool checks a direct connection to the primary without a round trip (settings ``POOL_CHECK = "quiet"``,
``gateway.db.postgresql``'s ``check_quietly``): a session the server ended while the connection sat in the pool is
seen at checkout. One ended between the checkout and the first statement is found by that statement, which is
sent again once on a fresh connection when that cannot write twice (``retry_if_stale``). Each test here uses a pool
of its own on the test database, outside the test's transaction, and ends that pool's sessions on the server as a
restart would. ``test_faults.py`` has the same after a real restart, through gunicorn.
"""

import uuid

import pytest
from django.db import OperationalError, connections, transaction

from gateway import settings as project_settings
from gateway.db.postgresql.base import check_connection, check_quietly

ALIAS = "stale_probe"
KILLER = "stale_killer"


def ended_sessions(killer, application_name: str) -> list[int]:
    """End every session of ``application_name`` on the server (waiting until each is gone); their pids."""
    with killer.cursor() as cursor:
        cursor.execute(
            # In the select list, not the WHERE clause, which may call it before filtering on the name.
            "SELECT pid, pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return [pid for pid, ended in cursor.fetchall() if ended]


def backend_pid(probe) -> int:
    with probe.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def probe(django_db_setup, django_db_blocker):
    """A pooled connection wrapper of the project's backend (alias ``stale_probe``) with a scratch table
    ``probe.table``, and ``probe.end_sessions()`` ending every connection of its pool on the server."""
    default = connections["default"]
    application_name = f"stale-probe-{uuid.uuid4().hex[:8]}"
    options = {key: value for key, value in default.settings_dict["OPTIONS"].items() if key != "pool"}
    pooled = {
        **default.settings_dict,
        "POOL_CHECK": "quiet",
        "OPTIONS": {**options, "application_name": application_name, "pool": {"min_size": 3, "timeout": 5}},
    }
    killer_settings = {**default.settings_dict, "CONN_HEALTH_CHECKS": False, "OPTIONS": options}
    with django_db_blocker.unblock():
        # Registered for this thread only: Django's connection_created receivers and atomic() look aliases up.
        connections[ALIAS] = wrapper = type(default)(pooled, alias=ALIAS)
        connections[KILLER] = killer = type(default)(killer_settings, alias=KILLER)
        wrapper.table = f"stale_probe_{uuid.uuid4().hex[:8]}"
        wrapper.end_sessions = lambda: ended_sessions(killer, application_name)
        with killer.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {wrapper.table} (note text)")
        wrapper.pool.open(wait=True)
        # The alias's first connection runs contrib.postgres's type lookup (once per alias and process) as its first
        # statement; done here, so that in every test the first statement after a checkout is the test's own.
        backend_pid(wrapper)
        wrapper.close()
        try:
            yield wrapper
        finally:
            wrapper.close()
            wrapper.close_pool()
            with killer.cursor() as cursor:
                cursor.execute(f"DROP TABLE {wrapper.table}")
            killer.close()
            del connections[ALIAS], connections[KILLER]


def notes(probe) -> list[str]:
    with probe.cursor() as cursor:
        cursor.execute(f"SELECT note FROM {probe.table}")
        return [note for (note,) in cursor.fetchall()]


def test_a_read_on_a_connection_the_server_closed_while_idle_is_answered_on_a_fresh_one(probe):
    first_pid = backend_pid(probe)
    probe.close()
    ended = probe.end_sessions()
    assert first_pid in ended and len(ended) == 3

    assert backend_pid(probe) not in ended


def test_a_write_on_a_connection_the_server_closed_while_idle_is_written_once(probe):
    probe.close()
    probe.end_sessions()

    # The quiet check saw the ended session at checkout: the write went to a fresh connection, never to the dead one.
    with probe.cursor() as cursor:
        cursor.execute(f"INSERT INTO {probe.table} VALUES ('once')")
    probe.close()

    assert notes(probe) == ["once"]


def test_every_idle_connection_the_server_closed_is_replaced_at_the_first_failure(probe):
    probe.close()
    ended = probe.end_sessions()
    backend_pid(probe)
    probe.close()

    # The other idle connections were checked and replaced with the first failure, not one checkout each.
    pids = set()
    for _ in range(3):
        pids.add(backend_pid(probe))
        probe.close()
    assert not pids & set(ended)
    assert probe.pool.get_stats()["connections_lost"] == len(ended)


def test_a_read_whose_session_ended_after_the_checkout_is_sent_again(probe):
    probe.ensure_connection()
    ended = probe.end_sessions()

    assert backend_pid(probe) not in ended


def test_a_transaction_whose_first_statement_met_an_ended_session_is_sent_again_and_commits_once(probe):
    with transaction.atomic(using=ALIAS), probe.cursor() as cursor:
        probe.end_sessions()
        cursor.execute(f"INSERT INTO {probe.table} VALUES ('first')")
        cursor.execute(f"INSERT INTO {probe.table} VALUES ('second')")
    probe.close()

    assert sorted(notes(probe)) == ["first", "second"]


def test_a_savepoint_as_the_first_statement_is_sent_again_inside_its_transaction(probe):
    with transaction.atomic(using=ALIAS):
        probe.end_sessions()
        with transaction.atomic(using=ALIAS), probe.cursor() as cursor:
            cursor.execute(f"INSERT INTO {probe.table} VALUES ('inner')")
        assert not probe.get_autocommit()
        with probe.cursor() as cursor:
            cursor.execute("SELECT now() = statement_timestamp()")
            # Inside one transaction: now() is its start, so a later statement's own timestamp is later.
            assert cursor.fetchone() == (False,)
    probe.close()

    assert notes(probe) == ["inner"]


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO {table} VALUES ('once')",
        # django-pghistory sends its context so, in front of a write, as one statement.
        "SELECT set_config('probe.note', 'x', true); INSERT INTO {table} VALUES ('once')",
    ],
    ids=["insert", "insert behind a select"],
)
def test_a_write_outside_a_transaction_whose_session_ended_after_the_checkout_is_not_sent_again(probe, write):
    probe.ensure_connection()
    probe.end_sessions()

    # It might have committed before its answer was lost: the caller is told, never a second copy written.
    with pytest.raises(OperationalError), probe.cursor() as cursor:
        cursor.execute(write.format(table=probe.table))
    probe.close()

    assert notes(probe) == []


def test_a_connection_that_breaks_after_its_first_statement_is_not_retried(probe):
    backend_pid(probe)
    probe.end_sessions()

    with pytest.raises(OperationalError), probe.cursor() as cursor:
        cursor.execute("SELECT 1")
    probe.close()

    assert backend_pid(probe)


def test_a_healthy_connection_runs_its_statements_once(probe):
    with transaction.atomic(using=ALIAS), probe.cursor() as cursor:
        cursor.execute(f"INSERT INTO {probe.table} VALUES ('one')")
    probe.close()

    assert notes(probe) == ["one"]
    assert probe.pool.get_stats().get("connections_lost", 0) == 0


@pytest.mark.parametrize(
    ("pgbouncer", "replica", "check"),
    [(False, False, "quiet"), (True, False, "query"), (False, True, "query")],
)
def test_the_pool_sends_its_check_query_only_where_a_quiet_socket_proves_nothing(
    monkeypatch, pgbouncer, replica, check
):
    monkeypatch.setattr(project_settings, "DB_PGBOUNCER", pgbouncer)
    database = {"NAME": "gateway", **({"REPLICA": True} if replica else {})}

    configured = project_settings._with_connection_settings(database, connect_timeout=1, pool_timeout=1)

    assert configured["POOL_CHECK"] == check
    default = connections["default"]
    wrapper = type(default)({**default.settings_dict, "POOL_CHECK": configured["POOL_CHECK"]}, alias=f"check_{check}")
    try:
        assert wrapper.pool._check is {"quiet": check_quietly, "query": check_connection}[check]
    finally:
        wrapper.close_pool()
