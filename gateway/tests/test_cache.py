"""The Redis cache, when ``REDIS_URL`` configures one."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")


@pytest.fixture
def key():
    key = f"test:{uuid.uuid4().hex}"
    yield key
    cache.delete(key)


def test_default_cache_is_redis():
    assert isinstance(caches["default"], RedisCache)


def test_redis_cache_round_trips_a_value(key):
    value = {"spend": Decimal("12.50"), "at": datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC), "ids": [1, 2]}
    cache.set(key, value, timeout=30)
    assert cache.get(key) == value


def test_counting_in_a_window_loses_no_count_when_many_count_at_once(key):
    """The throttle's counter: 8 threads, each with a cache of its own (as Django gives each thread), 50 each."""
    from concurrent.futures import ThreadPoolExecutor

    from gateway.cache import count_in_window

    def count_fifty(_):
        own = caches.create_connection("default")  # a client and pool of its own, as another process has
        return [count_in_window(own, key, f"{key}:previous", 60)[0] for _ in range(50)]

    with ThreadPoolExecutor(8) as pool:
        seen = [count for counts in pool.map(count_fifty, range(8)) for count in counts]
    assert cache.get(key) == 400
    assert sorted(seen) == list(range(1, 401))  # every increment got a count of its own


def test_counting_reads_the_previous_windows_count(key):
    from gateway.cache import count_in_window

    for _ in range(3):
        count_in_window(cache, f"{key}:previous", f"{key}:before", 60)
    assert count_in_window(cache, key, f"{key}:previous", 60) == (1, 3)
    cache.delete(f"{key}:previous")


def test_the_throttle_counts_with_incr_not_with_add_and_incr(key):
    """Through Django's proxy of the default cache (what DRF's throttles hold): INCR, EXPIRE and GET in one
    pipeline (redis-py sends INCRBY), not Django's add() (SET NX), incr() (EXISTS, INCRBY) and get()."""
    from gateway.cache import count_in_window

    client = caches["default"]._cache.get_client(write=True)

    def calls(command):
        return client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)

    before = {command: calls(command) for command in ("incrby", "set", "exists")}
    count_in_window(cache, key, f"{key}:previous", 60)
    assert {command: calls(command) - before[command] for command in before} == {"incrby": 1, "set": 0, "exists": 0}
