"""The users app's part of ``manage.py seed``: the development keys and admin login, and generated users."""

import json
import unicodedata
from datetime import UTC, datetime

from django.conf import settings

from gateway.seeding import AppSeeding, register
from gateway.seeding.development import FIXTURE, SeedConflict
from gateway.seeding.scale import DAY, json_text
from users.choices import Role
from users.models import ApiKey, User
from users.services import api_key_delete, api_key_issue

ADMIN_EMAIL = "admin@geminivideo.ai"
DEV_API_KEY_NAME = "Development key"
# Documented in SEED_DATA.md and the README; they follow ApiKey's prefix rule, so they authenticate as written.
DEV_API_KEYS = {
    "admin@geminivideo.ai": "dev_admin_key_12345",
    "demo@geminivideo.ai": "dev_demo_key_67890",
    "enterprise@geminivideo.ai": "dev_enterprise_key_abcde",
}

PASSWORD_UNUSABLE = "!"  # Django's marker; generated users sign in with API keys or not at all.
FIRST_NAMES = (
    "Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Lena", "Omar", "Priya", "Lucas", "Chloe", "Mateo", "Aisha",
    "Jonas", "Sofia", "Kenji", "Elena", "Diego", "Hana", "Samuel", "Nora", "Ravi", "Ingrid", "Tariq",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Chen", "Okafor", "Müller", "Rossi", "Kowalski", "Nguyen", "Patel", "Johansson",
    "Silva", "Kim", "Dubois", "Haddad", "Novak", "Tanaka", "Brown", "Lopez", "Schmidt", "Ivanova",
)  # fmt: skip
EMAIL_NAMES = {
    name: unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    for name in FIRST_NAMES + LAST_NAMES
}
# Weighted by repetition: picking from these with rng.choice is far cheaper than rng.choices.
ROLES = ("USER",) * 16 + ("ENTERPRISE",) * 3 + ("ADMIN",)
THEMES = ("light", "dark", "system")
LANGUAGES = ("en",) * 6 + ("es", "de", "fr", "pt")
# The few forms user settings take, rendered once.
SETTINGS_JSON = [
    json_text({"notifications": notifications, "theme": theme, "language": language})
    for notifications in (True, False)
    for theme in THEMES
    for language in dict.fromkeys(LANGUAGES)
]


@register
class UsersSeeding(AppSeeding):
    """Development: the keys of SEED_DATA.md and the admin's password. Scale: one user per unit."""

    fields = {
        User: (
            "id", "created_at", "updated_at", "deleted_at", "password", "last_login", "is_superuser",
            "email", "name", "role", "settings", "is_active", "is_staff",
        ),
    }  # fmt: skip
    per_unit = {User: 1}

    def before_fixture(self) -> None:
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

    def after_fixture(self) -> list[str]:
        """Give the development users their keys and the admin a password; the lines that say how.

        Only what is missing: a key already stored is kept as it is (revoked too), and the admin's password
        is set only while it has none (a fixture row has none), so a second ``seed`` neither changes a
        password nor ends a logged-in session (Django ties sessions to the password hash).
        """
        for email, key in DEV_API_KEYS.items():
            dev_api_key_ensure(user=User.objects.get(email=email), key=key)
        admin = User.objects.get(email=ADMIN_EMAIL)
        if not admin.has_usable_password():
            admin.set_password(settings.DEV_ADMIN_PASSWORD)
            admin.role, admin.is_staff, admin.is_superuser, admin.is_active = Role.ADMIN, True, True, True
            admin.save(update_fields=["password", "role", "is_staff", "is_superuser", "is_active"])
        return [
            f"Admin site login: {ADMIN_EMAIL} / {settings.DEV_ADMIN_PASSWORD}",
            "Development API keys (header 'Authorization: Api-Key <key>'):",
            *(f"  {email:<28} {key}" for email, key in DEV_API_KEYS.items()),
        ]

    def add_unit(self, generator, batch, unit) -> None:
        """The unit's user; leaves ``user_id`` and ``joined`` (epoch seconds) for the other apps."""
        rng = generator.rng
        user_id = generator.uuid()
        joined = generator.now - DAY * (30 + 700 * rng.random())
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = datetime.fromtimestamp(joined, UTC)
        batch[User].append(
            (
                user_id,
                created,
                created,
                None,
                PASSWORD_UNUSABLE,
                None,
                False,
                f"{EMAIL_NAMES[first]}.{EMAIL_NAMES[last]}.{user_id[:8]}{user_id[9:13]}@example.com",
                f"{first} {last}",
                rng.choice(ROLES),
                rng.choice(SETTINGS_JSON),
                True,
                False,
            )
        )
        unit["user_id"], unit["joined"] = user_id, joined


def dev_api_key_ensure(*, user: User, key: str) -> ApiKey:
    """The key ``key`` of ``user``: the stored one when it matches (as it is, revoked too), else a new one.

    Any other key holding the same prefix (the prefix is unique) is removed first; that can only be a
    leftover of an earlier development set-up. ``seed --reset`` brings a revoked development key back.
    """
    existing = ApiKey.objects.filter(prefix=ApiKey.prefix_of(key)).first()
    if existing is not None and existing.user_id == user.pk and existing.verify(key):
        return existing
    if existing is not None:
        api_key_delete(api_key=existing)
    api_key, _ = api_key_issue(user=user, name=DEV_API_KEY_NAME, key=key)
    return api_key
