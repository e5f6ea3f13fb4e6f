"""What the fault tests point at a closed port: the database, Redis as a cache.

The fixtures that use these (``unreachable_database``, ``fresh_breakers``) live in ``gateway/tests/conftest.py``.
"""

# Nothing listens on port 1: connecting is refused at once.
CLOSED_PORT = 1


def unreachable_redis_caches(backend: str = "gateway.cache.ResilientRedisCache") -> dict:
    """``CACHES`` whose default cache is ``backend`` on a Redis at the closed port, giving up after a second."""
    return {
        "default": {
            "BACKEND": backend,
            "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


# What ``REDIS_URL`` gives in production (the project's resilient cache), with Redis gone.
UNREACHABLE_RESILIENT_REDIS = unreachable_redis_caches()
