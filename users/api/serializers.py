"""Serializers of users and API keys."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.api import strict
from gateway.api.fields import JSONObjectField, UniqueOrNullValidator
from gateway.api.permissions import is_admin
from gateway.api.serializers import ModelSerializer
from users.emails import normalize_email
from users.models import ApiKey, User
from users.services import api_key_issue, user_create, user_update


class UserSummarySerializer(ModelSerializer):
    """Who owns a row: embedded in asset and campaign details."""

    class Meta:
        model = User
        fields = ["id", "email", "name"]
        read_only_fields = fields


class OwnerField(serializers.PrimaryKeyRelatedField):
    """The owner of a new row, by id; defaults to the caller. Only an ADMIN may name someone else."""

    default_error_messages = {
        "does_not_exist": "No user with id {pk_value} exists, or you may not create rows for them.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", strict.UUIDField(format="hex_verbose"))
        kwargs.setdefault("default", serializers.CurrentUserDefault())
        kwargs.setdefault("help_text", "Owner (user id). Defaults to the caller; only an ADMIN may name another user.")
        super().__init__(**kwargs)

    def get_default(self):
        # The caller is the default owner of a new row only: a PUT that leaves ``user`` out keeps the owner.
        if getattr(self.parent, "instance", None) is not None:
            raise serializers.SkipField()
        return super().get_default()

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if is_admin(user):
            return User.objects.all()
        if user is None or not user.is_authenticated:
            return User.objects.none()
        return User.objects.filter(pk=user.pk)


# Django's MinimumLengthValidator (AUTH_PASSWORD_VALIDATORS) with its default length, and its message.
PASSWORD_MIN_LENGTH = 8
PASSWORD_TOO_SHORT = f"This password is too short. It must contain at least {PASSWORD_MIN_LENGTH} characters."


def _check_password(password, user=None):
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as error:
        raise serializers.ValidationError(list(error.messages)) from error
    return password


class CanonicalEmailField(strict.EmailField):
    """An email address, put in canonical form (``users.emails``) before it is validated.

    So the format and uniqueness checks see the address as it will be stored: ``ＢＯＳＳ@Example.com``
    is ``boss@example.com``, a Unicode domain its ``xn--`` form; a lookalike address is a 400 naming the field.
    """

    def to_internal_value(self, data):
        return normalize_email(super().to_internal_value(data))


class UserSerializer(ModelSerializer):
    """A user as ADMIN users manage them. ``password`` is write-only and optional (API-only users).

    ``is_staff`` and ``is_superuser`` are read-only: they follow ``role`` (true for ADMIN, false otherwise).
    Writes go through ``user_create`` and ``user_update``, which keep the last active ADMIN.
    """

    email = CanonicalEmailField(
        max_length=254,
        validators=[
            UniqueOrNullValidator(
                queryset=User.all_objects.all(), lookup="iexact", message="A user with this email already exists."
            )
        ],
    )
    settings = JSONObjectField(required=False)
    password = strict.CharField(
        write_only=True,
        required=False,
        allow_blank=False,
        style={"input_type": "password"},
        trim_whitespace=False,
        # The length rule of Django's MinimumLengthValidator is in the schema too; the others (not entirely
        # digits, not a common password, not too like the email or name) only in the description.
        min_length=PASSWORD_MIN_LENGTH,
        error_messages={"min_length": PASSWORD_TOO_SHORT},
        help_text=(
            f"At least {PASSWORD_MIN_LENGTH} characters, not entirely digits, not a common password and not "
            "too similar to the email or name (Django's password validators)."
        ),
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "role",
            "settings",
            "is_active",
            "is_staff",
            "is_superuser",
            "password",
            "last_login",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "is_staff", "is_superuser", "last_login", "created_at", "updated_at", "deleted_at"]
        extra_kwargs = {
            "is_staff": {"help_text": "May log in to the staff console: true for ADMIN users only (follows role)."},
            "is_superuser": {"help_text": "Has every permission in the staff console: true for ADMIN users only."},
        }

    def validate_password(self, value):
        return _check_password(value, self.instance)

    def create(self, validated_data):
        return user_create(**validated_data)

    def update(self, instance, validated_data):
        return user_update(user=instance, **validated_data)


class MeSerializer(ModelSerializer):
    """The caller's own profile: name and settings are writable (through ``user_update``)."""

    settings = JSONObjectField(required=False)

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "settings", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "email", "role", "is_active", "created_at", "updated_at"]

    def update(self, instance, validated_data):
        return user_update(user=instance, **validated_data)


class ApiKeySerializer(ModelSerializer):
    """An API key without its secret. ``user`` and ``expires_at`` are set at creation only.

    A rename writes the name alone (``ModelSerializer.update``): it can never write back over a revocation.
    """

    user = OwnerField(required=False)
    is_usable = serializers.SerializerMethodField(help_text="Neither revoked nor expired.")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "user",
            "name",
            "prefix",
            "created_at",
            "updated_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_usable",
        ]
        read_only_fields = ["id", "prefix", "created_at", "updated_at", "last_used_at", "revoked_at"]
        create_only_fields = ["user", "expires_at"]

    @extend_schema_field(strict.BooleanField())
    def get_is_usable(self, api_key) -> bool:
        return not api_key.is_revoked and not api_key.is_expired

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value

    def create(self, validated_data):
        api_key, secret = api_key_issue(
            user=validated_data["user"], name=validated_data["name"], expires_at=validated_data.get("expires_at")
        )
        api_key.secret = secret
        return api_key


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """A new API key with its secret ``key``: shown this once, never again."""

    key = serializers.SerializerMethodField(
        help_text="The secret. It is not stored and cannot be shown again: null in the replay of this answer to "
        "a retry with the same Idempotency-Key."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]

    @extend_schema_field(strict.CharField(allow_null=True))
    def get_key(self, api_key) -> str:
        return api_key.secret
