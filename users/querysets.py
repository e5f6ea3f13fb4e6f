from django.contrib.auth.base_user import BaseUserManager
from django.db import models
from django.utils import timezone

from gateway.models import SoftDeleteQuerySet
from users.choices import Role
from users.emails import canonical_email, normalize_email


class UserQuerySet(SoftDeleteQuerySet):
    def with_email(self, email: str):
        """The user (at most one) whose address is ``email`` in any spelling: case, fullwidth, Unicode domain."""
        return self.filter(email=canonical_email(email))

    def active_admins(self):
        """ADMIN users who can act: active and not deleted. There must always be at least one."""
        return self.filter(role=Role.ADMIN, is_active=True, deleted_at__isnull=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    """Users log in by email, matched in its canonical form (``users.emails``); soft-deleted users are hidden."""

    use_in_migrations = True

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)

    @classmethod
    def normalize_email(cls, email):
        """The canonical form of ``email``; a ``ValidationError`` for a lookalike address."""
        return normalize_email(email or "")

    def get_by_natural_key(self, email):
        # Emails are stored in canonical form (User.save), so an exact match uses the unique index.
        return self.get(email=canonical_email(email))

    def create_user(self, email, password=None, **extra_fields):
        """A user whose console access (``is_staff``, ``is_superuser``) is that of their role."""
        if not email:
            raise ValueError("Users must have an email address.")
        role = extra_fields.setdefault("role", Role.USER)
        for name, value in self.model.console_flags(role).items():
            if extra_fields.setdefault(name, value) != value:
                raise ValueError(f"{name} follows the role: it is {value} for a {role}.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        if extra_fields.setdefault("role", Role.ADMIN) != Role.ADMIN:
            raise ValueError("A superuser is an ADMIN: console access follows the role.")
        return self.create_user(email, password, **extra_fields)


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        """Keys that may authenticate: not revoked, not expired, owned by an active, undeleted user."""
        now = timezone.now()
        return self.filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now),
            revoked_at__isnull=True,
            user__is_active=True,
            user__deleted_at__isnull=True,
        )
