"""Test settings: only what must differ from the real ones."""

import os

# Tests run with DEBUG off, like production, so they need some key; never used outside tests.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")

from gateway.settings import *  # noqa: E402, F403
from gateway.settings import LOGGING  # noqa: E402

# Hashing passwords is deliberately slow; tests do not need that.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
# Query-count assertions turn on the debug cursor; keep its SQL out of the captured logs.
LOGGING["loggers"]["django.db.backends"]["level"] = "INFO"
# Tests log as production does, one JSON object per line, whatever DEBUG the shell exported (make sets it).
LOG_FORMAT = "json"
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
# Every request looks its API key up, so query counts do not depend on what an earlier request cached; the
# cache of verified keys has its own tests (users/tests/test_api_key_cache.py), which turn it on.
API_KEY_CACHE_SECONDS = 0
