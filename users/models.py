"""Users and their API keys."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework_api_key.crypto import KeyGenerator

from gateway.history import tracked
from gateway.models import AllObjectsManager, BaseModel, JSONField, SoftDeleteModel, substring_search_index
from users.choices import Role
from users.emails import canonical_email, normalize_email
from users.querysets import ApiKeyQuerySet, UserManager


@tracked(exclude=("password", "last_login"))
class User(AbstractBaseUser, PermissionsMixin, SoftDeleteModel):
    """A person or system using the platform; logs in by email (in any spelling of it, see ``users.emails``).

    Console access follows the role: an ADMIN is staff and superuser, every other role neither
    (``console_flags``). The services of ``users.services`` keep the three in step.
    """

    # Stored in canonical form (see clean/save); the Lower() constraint also guards raw writes.
    email = models.EmailField("email", max_length=254, unique=True)
    name = models.CharField("name", max_length=255, blank=True, default="")
    role = models.CharField("role", max_length=16, choices=Role.choices, default=Role.USER)
    settings = JSONField("settings", default=dict, blank=True)
    is_active = models.BooleanField("active", default=True)
    is_staff = models.BooleanField("staff status", default=False, help_text="May log in to the admin site.")

    objects = UserManager()
    all_objects = AllObjectsManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        db_table = "users"
        verbose_name = "user"
        verbose_name_plural = "users"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="users_user_role_valid"),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="users_user_created_at_idx"),
            # The console's search by name (its changelist and the header's global search).
            substring_search_index("name", "users_user_name_trgm_idx"),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        if not self.email:
            return
        try:
            self.email = normalize_email(self.email)
        except ValidationError as error:
            raise ValidationError({"email": error.error_list}) from error

    def save(self, *args, **kwargs):
        # Lenient here: a row saved before the lookalike rules existed must still save (a login stamps last_login).
        if self.email:
            self.email = canonical_email(self.email)
        super().save(*args, **kwargs)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_active_admin(self) -> bool:
        """An ADMIN who can act (active, not deleted): one of those the last-ADMIN rule counts."""
        return self.is_admin and self.is_active and self.deleted_at is None

    @staticmethod
    def console_flags(role: str) -> dict[str, bool]:
        """``is_staff`` and ``is_superuser`` for ``role``: the staff console, with every permission, is for ADMINs."""
        is_admin = role == Role.ADMIN
        return {"is_staff": is_admin, "is_superuser": is_admin}


@tracked(exclude=("hashed_key", "last_used_at"))
class ApiKey(BaseModel):
    """An API key of a user. Only a hash of the secret is stored; the secret is shown once.

    ``prefix`` is the key's first ``PREFIX_LENGTH`` characters: it finds the row, then the hash
    of the whole key is compared in constant time. The development keys of the seed follow the same
    rule, so they authenticate exactly as written.
    """

    PREFIX_LENGTH = 12
    key_generator = KeyGenerator()

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_keys", verbose_name="user", db_index=False
    )
    name = models.CharField("name", max_length=100)
    prefix = models.CharField("prefix", max_length=PREFIX_LENGTH, editable=False)
    hashed_key = models.CharField("hashed key", max_length=255, editable=False)
    last_used_at = models.DateTimeField("last used at", null=True, blank=True)
    expires_at = models.DateTimeField("expires at", null=True, blank=True)
    revoked_at = models.DateTimeField("revoked at", null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        db_table = "api_keys"
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["prefix"], name="users_apikey_prefix_unique"),
            models.CheckConstraint(condition=models.Q(prefix__regex=r"^.{12}$"), name="users_apikey_prefix_length"),
        ]
        indexes = [models.Index(fields=["user"], name="users_apikey_user_idx")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def prefix_of(cls, key: str) -> str:
        return key[: cls.PREFIX_LENGTH]

    def set_key(self, key: str) -> None:
        self.prefix = self.prefix_of(key)
        self.hashed_key = self.key_generator.hash(key)

    def verify(self, key: str) -> bool:
        return self.key_generator.verify(key, self.hashed_key)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.is_expired_at(timezone.now())

    def is_expired_at(self, moment) -> bool:
        return self.expires_at is not None and self.expires_at <= moment
