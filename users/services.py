"""Writes on users and API keys."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from users.models import ApiKey, User

GENERATED_KEY_PREFIX = "gv_"
GENERATED_KEY_LENGTH = 48
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_generate() -> str:
    """A new random key: ``gv_`` and 45 letters and digits (about 268 bits)."""
    return GENERATED_KEY_PREFIX + get_random_string(GENERATED_KEY_LENGTH - len(GENERATED_KEY_PREFIX))


@transaction.atomic
def api_key_issue(*, user: User, name: str, expires_at: datetime | None = None, key: str | None = None):
    """Create a key for ``user`` and return ``(api_key, secret)``; the secret is not stored.

    ``key`` is for the seeded development keys only; everything else gets a generated key.
    """
    secret = key or api_key_generate()
    api_key = ApiKey(user=user, name=name, expires_at=expires_at)
    api_key.set_key(secret)
    api_key.full_clean()
    api_key.save()
    return api_key, secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key for good; revoking twice keeps the first time."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=api_key.revoked_at)
    return api_key


def api_key_authenticate(key: str) -> ApiKey | None:
    """The usable key matching ``key`` (with its user), or None.

    The hash is compared in constant time. ``last_used_at`` is written at most once a minute per
    key, so a busy client does not turn every request into a write.
    """
    if not key or len(key) < ApiKey.PREFIX_LENGTH:
        return None
    api_key = ApiKey.objects.usable().select_related("user").filter(prefix=ApiKey.prefix_of(key)).first()
    if api_key is None or not api_key.verify(key):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
