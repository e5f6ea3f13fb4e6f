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
