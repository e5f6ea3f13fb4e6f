"""Request rate limits per API key, counted in Django's default cache (Redis when REDIS_URL is set)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from gateway.metrics import throttled_requests


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Limits each API key to the ``api_key`` rate of ``DEFAULT_THROTTLE_RATES``.

    A session-authenticated user is counted per user with the same rate; a request that is not
    authenticated (the schema and docs) per client address with the ``anon`` rate. The rates are read
    on every request, so ``override_settings`` and a changed environment take effect without a restart.
    """

    scope = "api_key"
    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self):
        # SimpleRateThrottle parses the rate at construction; defer it until the request is known.
        pass

    def allow_request(self, request, view):
        authenticated = bool(request.user and request.user.is_authenticated)
        self.scope = "api_key" if authenticated else "anon"
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        if not allowed:
            throttled_requests.labels(scope=self.scope).inc()
        return allowed

    def get_cache_key(self, request, view):
        api_key = request.auth if getattr(request.auth, "prefix", None) else None
        if api_key is not None:
            ident = f"key:{api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
