"""Writes on users and API keys.

Users change through ``user_create``, ``user_update``, ``user_soft_delete`` and ``user_hard_delete``
(the API and the staff console both call them), which keep three rules:

- Console access follows the role: ``is_staff`` and ``is_superuser`` are set from ``role``
  (``User.console_flags``) and never on their own.
- There is always an active ADMIN: the last one can be neither demoted, deactivated nor deleted.
  Every write that may take a user out of the active ADMINs first locks the active ADMIN rows
  (``user_admins_lock``), then the user's own row, so two admins demoting each other queue up rather
  than each counting the other, and always take their locks in the same order (no deadlock).
- Losing access is immediate: a user who leaves ADMIN, is deactivated or is deleted has their login
  sessions ended (``user_sessions_end``). Their API keys need nothing: ``ApiKeyQuerySet.usable``
  refuses the keys of inactive and deleted users, and a key acts with its user's current role.
"""

import hashlib
import time
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from gateway.services import copy_row, lock_row, model_update
from users.choices import Role
from users.emails import normalize_email
from users.models import ApiKey, User

GENERATED_KEY_PREFIX = "gv_"
GENERATED_KEY_LENGTH = 48
LAST_USED_RESOLUTION = timedelta(minutes=1)

USER_UPDATE_FIELDS = frozenset({"email", "name", "role", "settings", "is_active", "password"})
# A change of one of these may take a user out of the active ADMINs.
ADMIN_STATE_FIELDS = frozenset({"role", "is_active"})
DUPLICATE_EMAIL = "A user with this email already exists."
LAST_ADMIN_HINT = "make another user an active ADMIN first."
SESSIONS_CHUNK = 1000


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None = None,
    name: str = "",
    role: str = Role.USER,
    settings: dict | None = None,
    is_active: bool = True,
) -> User:
    """Create a user whose console access is that of ``role``; without ``password``, an API-only user.

    ``email`` is stored in canonical form (``users.emails``); a lookalike address or one taken by
    any user, deleted ones included, is a ``ValidationError`` naming ``email``. ``password`` is the
    raw password (checked against the password validators by the caller's form or serializer).
    """
    user = User(
        email=_normalized_email(email),
        name=name,
        role=role,
        settings={} if settings is None else settings,
        is_active=is_active,
        **User.console_flags(role),
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    _check_email_free(email=user.email, user=None)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, **fields) -> User:
    """Write ``fields`` of ``user`` (``email``, ``name``, ``role``, ``settings``, ``is_active``, ``password``).

    Only the columns that change are written, under the row's lock (``model_update``), and ``user``
    gets the row as committed. ``role`` brings ``is_staff`` and ``is_superuser`` with it. Demoting or
    deactivating the last active ADMIN is a ``ValidationError`` naming ``role`` or ``is_active``. A user
    who loses access (leaves ADMIN, is deactivated) has their sessions ended. ``password`` is the raw
    password; ``None`` makes it unusable.
    """
    unknown = fields.keys() - USER_UPDATE_FIELDS
    if unknown:
        raise TypeError(
            f"user_update() cannot write {', '.join(sorted(unknown))}: is_staff and is_superuser follow the role."
        )
    if "email" in fields:
        fields["email"] = _normalized_email(fields["email"])
        _check_email_free(email=fields["email"], user=user)
    if "password" in fields:
        fields["password"] = make_password(fields["password"])
    _clean_fields(fields, user=user)
    if "role" in fields:
        fields.update(User.console_flags(fields["role"]))
    if ADMIN_STATE_FIELDS & fields.keys():
        user_admins_lock()
    before = lock_row(user)
    user_check_last_admin(user=before, role=fields.get("role"), is_active=fields.get("is_active"))
    model_update(instance=user, fields=fields)
    if _lost_access(before=before, after=user):
        user_sessions_end(user=user)
    return user


@transaction.atomic
def user_soft_delete(*, user: User, actor: User | None = None) -> User:
    """Hide ``user`` (``deleted_at``) and end their sessions; deleting a deleted user changes nothing.

    Refused (``ValidationError``) for the last active ADMIN and for ``actor`` deleting themselves.
    """
    row = _lock_for_delete(user)
    if row.deleted_at is None:
        user_check_deletable(user=row, actor=actor)
        row.soft_delete()
        verified_keys.clear()
        user_sessions_end(user=row)
    copy_row(row, user)
    return user


@transaction.atomic
def user_hard_delete(*, user: User, actor: User | None = None) -> None:
    """Remove ``user`` and what cascades from it (API keys, assets, campaigns), and end their sessions.

    Refused (``ValidationError``) for the last active ADMIN and for ``actor`` deleting themselves.
    """
    row = _lock_for_delete(user)
    user_check_deletable(user=row, actor=actor)
    user_sessions_end(user=row)
    row.delete()


def _lock_for_delete(user: User) -> User:
    """Lock the active ADMINs, then ``user``'s row (the order every ADMIN-changing write keeps); the row."""
    user_admins_lock()
    return lock_row(user)


def user_admins_lock() -> list:
    """Lock the rows of the active ADMINs, in primary-key order, until the transaction ends; their ids.

    Every write that may take a user out of the active ADMINs calls this before it locks any user
    row (the API's update locks its row early, so it calls this first too). Call inside a transaction.
    """
    return list(User.objects.active_admins().order_by("pk").select_for_update().values_list("pk", flat=True))


def user_check_last_admin(
    *, user: User, role: str | None = None, is_active: bool | None = None, deleting: bool = False
) -> None:
    """Raise a ``ValidationError`` if the change would leave no active ADMIN.

    The change: ``role`` and ``is_active`` as given (``None``: unchanged), or deleting the user. The
    error names the field (``role``, ``is_active``) or, for a delete, none. The services call this under
    ``user_admins_lock``; the console's form calls it unlocked, for an early error next to the field.
    """
    if not user.is_active_admin:
        return
    if deleting:
        field, message = NON_FIELD_ERRORS, f"Cannot delete the last active ADMIN; {LAST_ADMIN_HINT}"
    elif role is not None and role != Role.ADMIN:
        field, message = "role", f"Cannot change the role of the last active ADMIN; {LAST_ADMIN_HINT}"
    elif is_active is not None and not is_active:
        field, message = "is_active", f"Cannot deactivate the last active ADMIN; {LAST_ADMIN_HINT}"
    else:
        return
    if not User.objects.active_admins().exclude(pk=user.pk).exists():
        raise ValidationError({field: [ValidationError(message, code="last_admin")]})


def user_check_deletable(*, user: User, actor: User | None = None) -> None:
    """Raise a ``ValidationError`` (no field) if ``user`` may not be deleted: the last active ADMIN, or ``actor``."""
    user_check_last_admin(user=user, deleting=True)
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot delete your own account.", code="self_delete")


def user_sessions_end(*, user: User) -> int:
    """End every login session of ``user`` (staff console, browsable API) at once; how many were ended.

    A session row does not say whose it is, so the unexpired ones are decoded one by one. That is
    cheap enough for something done only when a user loses access: sessions exist only for console and
    browsable-API logins. Changing the password hash would end them too, but would change the password.
    Needs a database-backed session engine (Django's default, which the project uses).
    """
    store_class = import_module(django_settings.SESSION_ENGINE).SessionStore
    user_id = user._meta.pk.value_to_string(user)
    sessions = store_class.get_model_class().objects.filter(expire_date__gt=timezone.now())
    ended = 0
    for session in sessions.only("session_key", "session_data").iterator(chunk_size=SESSIONS_CHUNK):
        if session.get_decoded().get(SESSION_KEY) == user_id:
            store_class(session_key=session.session_key).delete()
            ended += 1
    return ended


def _normalized_email(email: str) -> str:
    try:
        return normalize_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.error_list}) from error


def _check_email_free(*, email: str, user: User | None) -> None:
    # Deleted users keep their address (the unique index covers them), so they are counted too.
    taken = User.all_objects.filter(email=email)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    if taken.exists():
        raise ValidationError({"email": [ValidationError(DUPLICATE_EMAIL, code="unique")]})


def _clean_fields(fields: dict, *, user: User) -> None:
    """Check each value as ``Model.clean_fields`` would (choices, lengths, formats); errors name the field."""
    errors = {}
    for name, value in fields.items():
        try:
            fields[name] = User._meta.get_field(name).clean(value, user)
        except ValidationError as error:
            errors[name] = error.error_list
    if errors:
        raise ValidationError(errors)


def _lost_access(*, before: User, after: User) -> bool:
    return (
        (before.is_active and not after.is_active)
        or (before.is_admin and not after.is_admin)
        or (before.is_staff and not after.is_staff)
    )


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
        verified_keys.clear()
    return api_key


@transaction.atomic
def api_key_delete(*, api_key: ApiKey) -> None:
    """Remove a key row for good (a development set-up's leftover); everything else revokes (``api_key_revoke``)."""
    api_key.delete()


def api_key_authenticate(key: str) -> ApiKey | None:
    """The usable key matching ``key`` (with its user), or None.

    The hash is compared in constant time. ``last_used_at`` is written at most once a minute per
    key, so a busy client does not turn every request into a write. A key verified in the last
    ``API_KEY_CACHE_SECONDS`` is served from this process's memory (``VerifiedKeys``) without a query.
    """
    if not key or len(key) < ApiKey.PREFIX_LENGTH:
        return None
    now = timezone.now()
    api_key = verified_keys.get(key, now=now)
    if api_key is None:
        read_at = time.monotonic()  # before the read: the entry is trusted from what the row said then
        api_key = ApiKey.objects.usable().select_related("user").filter(prefix=ApiKey.prefix_of(key)).first()
        if api_key is None or not api_key.verify(key):
            return None
        verified_keys.put(key, api_key, read_at=read_at)
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        verified_keys.touch(key, now)
        api_key.last_used_at = now
    return api_key


class VerifiedKeys:
    """API keys this process verified lately, so a busy client is not looked up on every request.

    An entry lives ``API_KEY_CACHE_SECONDS`` (at most one second, settings.py refuses more) from the
    moment its row was read, so a key revoked, a user deactivated, deleted or given another role on any
    process is refused by every process within that time: no message between processes is needed,
    and nothing is trusted for longer than one second. A write in this process (the services above,
    and any save or delete of a key or user, through ``users.signals``) empties it at once. Entries are
    keyed by the SHA-256 of the secret, never the secret, and handed out as copies: a request may
    change its ``request.user`` without another thread seeing it. Only verified keys enter, so a
    client trying random keys cannot fill it.
    """

    MAX_ENTRIES = 10_000

    def __init__(self):
        self._entries: dict[bytes, tuple[float, ApiKey]] = {}

    def get(self, key: str, *, now) -> ApiKey | None:
        entry = self._entries.get(self._digest(key))
        if entry is None:
            return None
        read_at, api_key = entry
        if time.monotonic() - read_at >= django_settings.API_KEY_CACHE_SECONDS or api_key.is_expired_at(now):
            return None
        return self._detached(api_key)

    def put(self, key: str, api_key: ApiKey, *, read_at: float) -> None:
        if django_settings.API_KEY_CACHE_SECONDS <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[self._digest(key)] = (read_at, self._detached(api_key))

    def touch(self, key: str, last_used_at) -> None:
        entry = self._entries.get(self._digest(key))
        if entry is not None:
            entry[1].last_used_at = last_used_at

    def clear(self) -> None:
        self._entries.clear()

    @classmethod
    def _detached(cls, api_key: ApiKey) -> ApiKey:
        """A copy of ``api_key`` with a copy of its user: what one request does to it, no other sees."""
        detached = cls._copy_of(api_key)
        detached.user = cls._copy_of(api_key.user)
        return detached

    @staticmethod
    def _copy_of(row):
        """A new instance of ``row``'s model with the same column values, as loaded from the database."""
        names = [field.attname for field in row._meta.concrete_fields]
        return type(row).from_db(row._state.db, names, [getattr(row, name) for name in names])

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.sha256(key.encode()).digest()


verified_keys = VerifiedKeys()
