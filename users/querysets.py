from django.contrib.auth.base_user import BaseUserManager
from django.db import models
from django.utils import timezone

from gateway.models import SoftDeleteQuerySet


class UserQuerySet(SoftDeleteQuerySet):
    pass


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    """Users log in by email, matched without regard to case; soft-deleted users are hidden."""

    use_in_migrations = True

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)

    def get_by_natural_key(self, email):
        # Emails are stored lower-cased (User.save), so an exact match uses the unique index.
        return self.get(email=email.lower())

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        from users.choices import Role

        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", Role.ADMIN)
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
