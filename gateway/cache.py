"""Django's Redis cache, made to degrade instead of failing when Redis is unreachable.

The cache only ever speeds things up or counts (API throttling), so losing Redis must not turn
requests into 500s. While Redis cannot be reached every cache operation behaves as a miss: reads
return the default, writes store nothing, ``add`` reports nothing added, ``incr`` reports a missing
key. Throttling therefore fails open (requests are not counted) and cached data is recomputed.

A failed operation opens a small circuit breaker, shared by every thread of the process for that
Redis location: for ``retry_after_seconds`` (an ``OPTIONS`` key, default 5) operations answer a miss
at once instead of waiting for another connection timeout, then one operation tries Redis again.
Each failed try logs one warning; the first success afterwards logs that the cache is back.
"""

import functools
import logging
import threading
import time
from urllib.parse import urlsplit

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django_prometheus.cache.metrics import django_cache_get_total, django_cache_hits_total, django_cache_misses_total

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 5.0

# ReadOnlyError: a replica answering writes during a failover; the rest are the connection itself.
UNREACHABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ReadOnlyError)


class CacheBreaker:
    """Whether Redis at one location is believed down, and until when operations skip it."""

    def __init__(self, location: str, retry_after: float):
        self.location = location
        self.retry_after = retry_after
        self.down = False
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def allows_attempt(self) -> bool:
        return time.monotonic() >= self._skip_until

    def record_failure(self, operation: str, error: Exception) -> None:
        with self._lock:
            self.down = True
            self._skip_until = time.monotonic() + self.retry_after
        logger.warning(
            "cache %s unreachable during %s (%s: %s); answering cache misses, next try in %ss",
            self.location,
            operation,
            type(error).__name__,
            error,
            self.retry_after,
        )

    def record_success(self) -> None:
        if self.down:
            with self._lock:
                was_down, self.down = self.down, False
            if was_down:
                logger.warning("cache %s reachable again", self.location)


_breakers: dict[tuple[str, ...], CacheBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(servers: list[str], retry_after: float) -> CacheBreaker:
    key = tuple(servers)
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = CacheBreaker(", ".join(_without_credentials(url) for url in servers), retry_after)
        return _breakers[key]


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def _degrades_to(miss):
    """Run the client operation unless the breaker is open; on an unreachable Redis return ``miss(*args)``."""

    def decorator(operation):
        @functools.wraps(operation)
        def wrapper(self, *args):
            if not self.breaker.allows_attempt():
                return miss(*args)
            try:
                result = operation(self, *args)
            except UNREACHABLE_ERRORS as error:
                self.breaker.record_failure(operation.__name__, error)
                return miss(*args)
            self.breaker.record_success()
            return result

        return wrapper

    return decorator


def _key_not_found(key, delta):
    # What Django's caches raise for incr() on a missing key.
    raise ValueError(f"Key '{key}' not found.")


class ResilientRedisCacheClient(RedisCacheClient):
    """Django's Redis client whose every operation degrades to a miss (see the module docstring)."""

    def __init__(self, servers, *, breaker: CacheBreaker, **options):
        super().__init__(servers, **options)
        self.breaker = breaker
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        # One redis.Redis per connection pool, kept: Django builds a new one for every operation, and its
        # constructor (some 170 response callbacks set up) cost 0.2 ms per cache call, twice a request.
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client

    def count(self, key, previous_key, timeout) -> tuple[int, int]:
        """Add one to ``key`` (created with ``timeout``) and read ``previous_key``: one round trip."""
        pipeline = self.get_client(key, write=True).pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, timeout)
        pipeline.get(previous_key)
        current, _, previous = pipeline.execute()
        return current, previous

    count = _degrades_to(lambda key, previous_key, timeout: (0, None))(count)
    add = _degrades_to(lambda key, value, timeout: False)(RedisCacheClient.add)
    get = _degrades_to(lambda key, default: default)(RedisCacheClient.get)
    set = _degrades_to(lambda key, value, timeout: None)(RedisCacheClient.set)
    touch = _degrades_to(lambda key, timeout: False)(RedisCacheClient.touch)
    delete = _degrades_to(lambda key: False)(RedisCacheClient.delete)
    get_many = _degrades_to(lambda keys: {})(RedisCacheClient.get_many)
    has_key = _degrades_to(lambda key: False)(RedisCacheClient.has_key)
    incr = _degrades_to(_key_not_found)(RedisCacheClient.incr)
    set_many = _degrades_to(lambda data, timeout: None)(RedisCacheClient.set_many)
    delete_many = _degrades_to(lambda keys: None)(RedisCacheClient.delete_many)
    clear = _degrades_to(lambda: False)(RedisCacheClient.clear)


_MISSING = object()


class CountedReadsMixin:
    """Counts cache reads, hits and misses in django-prometheus's cache metrics.

    django-prometheus's own backends cannot serve here: its Redis ones need django-redis (we use
    Django's), and its local-memory one answers the default for a cached falsy value (``0``, ``[]``).
    """

    metrics_backend = ""

    def get(self, key, default=None, version=None):
        value = super().get(key, _MISSING, version)
        django_cache_get_total.labels(backend=self.metrics_backend).inc()
        if value is _MISSING:
            django_cache_misses_total.labels(backend=self.metrics_backend).inc()
            return default
        django_cache_hits_total.labels(backend=self.metrics_backend).inc()
        return value


class CountedLocMemCache(CountedReadsMixin, LocMemCache):
    """Django's local-memory cache (development, tests without Redis), with its reads counted."""

    metrics_backend = "locmem"


class ResilientRedisCache(CountedReadsMixin, RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that serves misses while Redis is unreachable."""

    metrics_backend = "redis"

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        retry_after = float(options.pop("retry_after_seconds", DEFAULT_RETRY_AFTER_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = functools.partial(ResilientRedisCacheClient, breaker=breaker_for(self._servers, retry_after))

    def count_in_window(self, key: str, previous_key: str, timeout: int) -> tuple[int, int]:
        """Add one to the counter ``key`` (kept ``timeout`` seconds) and read ``previous_key``'s: (new, previous).

        One round trip (INCR, EXPIRE, GET in a pipeline), atomic however many processes count at once;
        (0, 0) while Redis is unreachable, so a throttle fails open. The read of ``previous_key`` counts in
        the cache metrics as any ``get``.
        """
        current, previous = self._cache.count(
            self.make_and_validate_key(key), self.make_and_validate_key(previous_key), self.get_backend_timeout(timeout)
        )
        django_cache_get_total.labels(backend=self.metrics_backend).inc()
        outcome = django_cache_misses_total if previous is None else django_cache_hits_total
        outcome.labels(backend=self.metrics_backend).inc()
        return current, int(previous or 0)


def count_in_window(cache, key: str, previous_key: str, timeout: int) -> tuple[int, int]:
    """Add one to the counter ``key`` of ``cache`` (kept ``timeout`` seconds), and read ``previous_key``'s.

    Returns (the new count, the previous key's count). On the project's Redis cache it is one atomic round
    trip; on any other Django cache, ``add`` and ``incr`` (atomic within one process, as a local-memory
    cache is).
    """
    counter = getattr(cache, "count_in_window", None)  # ``cache`` may be Django's proxy of the default cache
    if counter is not None:
        return counter(key, previous_key, timeout)
    cache.add(key, 0, timeout)
    try:
        current = cache.incr(key)
    except ValueError:  # expired between add() and incr(), or the cache keeps nothing
        current = 1
    return current, cache.get(previous_key, 0)
