"""Fixtures of the gateway's fault tests: the database and the cache made unreachable for one test."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import DatabaseWrapper

from gateway.tests.fault_helpers import CLOSED_PORT


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
def breakable_database_connection():
    """Make the default alias a connection of its own to the test database, one a view may break for good.

    Outside the test's transaction (so it sees no rows the test wrote) and without the pool; the test's own
    connection is set aside untouched and put back afterwards, as in ``unreachable_database``.
    """
    original = connections[DEFAULT_DB_ALIAS]
    options = {key: value for key, value in original.settings_dict["OPTIONS"].items() if key != "pool"}
    settings_dict = {**original.settings_dict, "OPTIONS": options, "CONN_HEALTH_CHECKS": False}
    connections[DEFAULT_DB_ALIAS] = type(original)(settings_dict, alias=DEFAULT_DB_ALIAS)
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections[DEFAULT_DB_ALIAS] = original


@pytest.fixture
def fresh_breakers():
    """The test starts with no cache location believed down, so a dead Redis is tried, fails and is logged."""
    from gateway import cache as cache_module

    saved = dict(cache_module._breakers)
    cache_module._breakers.clear()
    yield
    cache_module._breakers.clear()
    cache_module._breakers.update(saved)
