"""System checks of the gateway's own deployment rules (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

W001_MESSAGE = "REDIS_URL is not set: throttling and the cache are per process."


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs) -> list[Warning]:
    """Production without ``REDIS_URL``: each process counts throttling in its own local-memory cache.

    A limit of 10 requests a minute then lets through 10 per gunicorn worker, and a cached value differs
    from one process to the next.
    """
    if settings.DEBUG or getattr(settings, "REDIS_URL", ""):
        return []
    return [
        Warning(
            W001_MESSAGE,
            hint="Set REDIS_URL (e.g. redis://host:6379/0) so that every process shares the throttle counts and "
            "the cache.",
            id="gateway.W001",
        )
    ]
