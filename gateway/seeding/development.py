"""The development data set: the fixture of SEED_DATA.md, the development API keys and the admin login."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from users.choices import Role
from users.models import ApiKey, User
from users.services import api_key_issue

FIXTURE = settings.BASE_DIR / "fixtures" / "development.json"
ADMIN_EMAIL = "admin@geminivideo.ai"
DEV_API_KEY_NAME = "Development key"
# Documented in SEED_DATA.md and the README; they follow ApiKey's prefix rule, so they authenticate as written.
DEV_API_KEYS = {
    "admin@geminivideo.ai": "dev_admin_key_12345",
    "demo@geminivideo.ai": "dev_demo_key_67890",
    "enterprise@geminivideo.ai": "dev_enterprise_key_abcde",
}


class SeedConflict(Exception):
    """The database holds a row that the fixture would have to overwrite under another id."""


@dataclass(frozen=True)
class DevelopmentSeed:
    """What ``seed_development_data`` left in place: the admin login and each user's development key."""

    admin_email: str
    admin_password: str
    api_keys: dict[str, str]


@transaction.atomic
def seed_development_data() -> DevelopmentSeed:
    """Load the development fixture, make sure the development keys authenticate and the admin can log in.

    Idempotent: ``loaddata`` writes every fixture row by primary key (update or insert), and a key
    already stored for its user is kept rather than issued again. The admin's password is set each
    time because loading the fixture resets it to unusable.
    """
    _check_user_conflicts()
    call_command("loaddata", str(FIXTURE), verbosity=0)
    for email, key in DEV_API_KEYS.items():
        dev_api_key_ensure(user=User.objects.get(email=email), key=key)
    admin = User.objects.get(email=ADMIN_EMAIL)
    admin.set_password(settings.DEV_ADMIN_PASSWORD)
    admin.role, admin.is_staff, admin.is_superuser, admin.is_active = Role.ADMIN, True, True, True
    admin.save(update_fields=["password", "role", "is_staff", "is_superuser", "is_active"])
    return DevelopmentSeed(admin_email=ADMIN_EMAIL, admin_password=settings.DEV_ADMIN_PASSWORD, api_keys=DEV_API_KEYS)


def dev_api_key_ensure(*, user: User, key: str) -> ApiKey:
    """The usable key ``key`` of ``user``: the stored one when it matches, otherwise a newly issued one.

    A matching key that was revoked or given an expiry is made usable again, since the development
    keys are documented as working. Any other key holding the same prefix (the prefix is unique)
    is removed first; that can only be a leftover of an earlier development set-up.
    """
    existing = ApiKey.objects.filter(prefix=ApiKey.prefix_of(key)).first()
    if existing is not None and existing.user_id == user.pk and existing.verify(key):
        if existing.revoked_at is not None or existing.expires_at is not None:
            existing.revoked_at = existing.expires_at = None
            existing.save(update_fields=["revoked_at", "expires_at", "updated_at"])
        return existing
    if existing is not None:
        existing.delete()
    api_key, _ = api_key_issue(user=user, name=DEV_API_KEY_NAME, key=key)
    return api_key


def _check_user_conflicts() -> None:
    """Fail clearly when a development email belongs to a user with another id (e.g. made by createsuperuser).

    ``loaddata`` would otherwise stop with a bare unique-constraint error.
    """
    fixture_users = [row for row in json.loads(FIXTURE.read_text()) if row["model"] == "users.user"]
    for row in fixture_users:
        email = row["fields"]["email"]
        other = User.all_objects.filter(email__iexact=email).exclude(pk=row["pk"]).first()
        if other is not None:
            raise SeedConflict(
                f"{email} already exists with id {other.pk}, not the development data set's id. "
                "Delete that user (or use a fresh database) and run seed again."
            )
