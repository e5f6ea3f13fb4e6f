"""FilterSets of users and API keys."""

import django_filters

from gateway.api.filters import (
    FilterSet,
    OrderingFilter,
    SoftDeleteFilterSet,
    StrictBooleanFilter,
    choice_filters,
    related_filters,
)
from users.choices import Role
from users.emails import canonical_email
from users.models import ApiKey, User


class CanonicalEmailFilter(django_filters.CharFilter):
    """An email compared in canonical form (``users.emails``), as stored: any case or spelling finds it."""

    def filter(self, qs, value):
        return super().filter(qs, canonical_email(value) if value else value)


class UserFilterSet(SoftDeleteFilterSet):
    email = CanonicalEmailFilter(field_name="email", lookup_expr="exact")
    role, role__in = choice_filters("role", Role.choices)
    is_active = StrictBooleanFilter(field_name="is_active", lookup_expr="exact")
    ordering = OrderingFilter(fields=["created_at", "updated_at", "email", "name"])

    class Meta:
        model = User
        fields = []


class ApiKeyFilterSet(FilterSet):
    user, user__in = related_filters("user")
    prefix = django_filters.CharFilter(field_name="prefix", lookup_expr="exact")
    is_revoked = StrictBooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)
    ordering = OrderingFilter(fields=["created_at", "last_used_at", "expires_at", "name"])

    class Meta:
        model = ApiKey
        fields = []
