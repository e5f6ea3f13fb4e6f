"""Request rate limits per API key, counted in Django's default cache (Redis when REDIS_URL is set).

Every answer of the API tells the client where it stands, in the headers of the IETF draft "RateLimit
header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Limit`` (requests allowed per
window), ``RateLimit-Remaining`` (left in the window now) and ``RateLimit-Reset`` (seconds until the counting
window ends, or until one more request is allowed when none remain; 0 when nothing is counted). The throttle
records them on the request (:class:`RateLimit`) and :class:`RateLimitHeadersMiddleware` writes them.
"""

import contextlib
import math
from dataclasses import dataclass

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from gateway.cache import count_in_window
from gateway.metrics import throttled_requests

REQUEST_ATTRIBUTE = "rate_limit"


@dataclass(frozen=True)
class RateLimit:
    """Where a client stands against its limit after a request."""

    limit: int
    remaining: int
    reset: int

    @property
    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Limits each API key to the ``api_key`` rate of ``DEFAULT_THROTTLE_RATES``.

    A session-authenticated user is counted per user with the same rate; a request that is not
    authenticated (the schema and docs) per client address with the ``anon`` rate. The rates are read
    on every request, so ``override_settings`` and a changed environment take effect without a restart.
    Each decision is recorded on the request as a :class:`RateLimit` (see the module docstring).

    Counted as a sliding window over fixed ones (as nginx's and Cloudflare's limiters do): one counter per
    client and period (a minute for ``N/minute``), and the requests of the last ``period`` are estimated as
    this period's count plus the previous period's weighted by the share of it the last ``period`` still
    covers. A request is one atomic increment and one read, in one round trip (``count_in_window`` of
    gateway/cache.py), where DRF's ``SimpleRateThrottle`` reads and writes back a list of every request's
    time: slower with each request in the window, and two processes writing at once lose one's count.
    A refused request is not counted.
    """

    scope = "api_key"
    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self):
        # SimpleRateThrottle parses the rate at construction; defer it until the request is known.
        pass

    def configure(self, request) -> bool:
        """Pick the scope and rate of ``request``; False when that scope has no limit."""
        authenticated = bool(request.user and request.user.is_authenticated)
        self.scope = "api_key" if authenticated else "anon"
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if self.rate is None:
            return False
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return True

    def allow_request(self, request, view):
        if not self.configure(request):
            return True
        self.start_counting(request, view)
        self.current, self.previous = count_in_window(
            self.cache, self.window_key(self.window), self.window_key(self.window - 1), 2 * self.duration
        )
        allowed = self.used() <= self.num_requests
        if not allowed:
            with contextlib.suppress(ValueError):  # the counter expired meanwhile: nothing to take back
                self.cache.decr(self.window_key(self.window))
            self.current -= 1
            throttled_requests.labels(scope=self.scope).inc()
        record_rate_limit(request, self.rate_limit())
        return allowed

    def peek(self, request, view) -> RateLimit | None:
        """Where ``request``'s client stands, without counting the request (one that failed before throttling)."""
        if not self.configure(request):
            return None
        self.start_counting(request, view)
        counts = self.cache.get_many([self.window_key(self.window), self.window_key(self.window - 1)])
        self.current = counts.get(self.window_key(self.window), 0)
        self.previous = counts.get(self.window_key(self.window - 1), 0)
        return self.rate_limit()

    def start_counting(self, request, view) -> None:
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.window = int(self.now // self.duration)

    def window_key(self, window: int) -> str:
        return f"{self.key}:{window}"

    def used(self) -> float:
        """Requests counted in the last ``duration`` seconds, as estimated from the two windows' counts."""
        elapsed = self.now - self.window * self.duration
        return self.previous * (1 - elapsed / self.duration) + self.current

    def wait(self) -> float:
        """Seconds until one more request is allowed (DRF's ``Retry-After``)."""
        window_start = self.window * self.duration
        room = self.num_requests - 1 - self.current  # what the previous window's weight may still use
        if room >= 0:
            if self.previous <= room:
                return 0.0
            return max(window_start + (1 - room / self.previous) * self.duration - self.now, 0.0)
        # Not before the next window, where this one's count weighs as the previous one's.
        share = max(1 - (self.num_requests - 1) / self.current, 0.0)
        return window_start + (1 + share) * self.duration - self.now

    def rate_limit(self) -> RateLimit:
        """The state after ``allow_request`` or ``peek`` read the counts at ``now``."""
        used = self.used()
        remaining = max(math.floor(self.num_requests - used), 0)
        if used <= 0:
            reset = 0.0
        elif remaining == 0:
            reset = self.wait()
        else:  # the window's end, when its count starts weighing less
            reset = (self.window + 1) * self.duration - self.now
        return RateLimit(limit=self.num_requests, remaining=remaining, reset=max(math.ceil(reset), 0))

    def get_cache_key(self, request, view):
        api_key = request.auth if getattr(request.auth, "prefix", None) else None
        if api_key is not None:
            ident = f"key:{api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def record_rate_limit(request, rate_limit: RateLimit | None) -> None:
    """Keep ``rate_limit`` on the Django request under ``request`` (a DRF request) for the middleware."""
    if rate_limit is not None:
        setattr(getattr(request, "_request", request), REQUEST_ATTRIBUTE, rate_limit)


def peek_rate_limit(request, view) -> None:
    """Record where the client stands when the view's throttles never ran (a 401 or 403 comes first)."""
    django_request = getattr(request, "_request", request)
    if hasattr(django_request, REQUEST_ATTRIBUTE):
        return
    for throttle in view.get_throttles():
        if isinstance(throttle, ApiKeyRateThrottle):
            record_rate_limit(request, throttle.peek(request, view))
            return


class RateLimitHeadersMiddleware:
    """Adds the ``RateLimit-*`` headers of the request's :class:`RateLimit` to its answer, when it has one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        rate_limit = getattr(request, REQUEST_ATTRIBUTE, None)
        if rate_limit is not None:
            for name, value in rate_limit.headers.items():
                response.headers.setdefault(name, value)
        return response
