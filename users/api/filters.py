"""FilterSets of users and API keys."""

import django_filters

from gateway.api.filters import ChoiceInFilter, SoftDeleteFilterSet, StrictBooleanFilter, UUIDInFilter
from users.choices import Role
from users.emails import canonical_email
from users.models import ApiKey, User


class CanonicalEmailFilter(django_filters.CharFilter):
    """An email compared in canonical form (``users.emails``), as stored: any case or spelling finds it."""

    def filter(self, qs, value):
        return super().filter(qs, canonical_email(value) if value else value)


class UserFilterSet(SoftDeleteFilterSet):
    email = CanonicalEmailFilter(field_name="email", lookup_expr="exact")
    role = django_filters.ChoiceFilter(field_name="role", lookup_expr="exact", choices=Role.choices)
    role__in = ChoiceInFilter(field_name="role", lookup_expr="in", choices=Role.choices)
    is_active = StrictBooleanFilter(field_name="is_active", lookup_expr="exact")
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=["created_at", "updated_at", "email", "name"])

    class Meta:
        model = User
        fields = []


class ApiKeyFilterSet(django_filters.FilterSet):
    user = django_filters.UUIDFilter(field_name="user", lookup_expr="exact")
    user__in = UUIDInFilter(field_name="user", lookup_expr="in")
    prefix = django_filters.CharFilter(field_name="prefix", lookup_expr="exact")
    is_revoked = StrictBooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)
    created_at_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=["created_at", "last_used_at", "expires_at", "name"])

    class Meta:
        model = ApiKey
        fields = []
