"""Filter classes shared by the apps' FilterSets."""

import re

import django_filters
from django import forms

from gateway.api.viewsets import FALSE_VALUES, TRUE_VALUES


class UUIDInFilter(django_filters.BaseInFilter, django_filters.UUIDFilter):
    """Comma-separated UUIDs: ``?asset__in=<id>,<id>``."""


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Comma-separated strings: ``?platform__in=meta,google``."""


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """Comma-separated numbers: ``?score__in=0.5,0.75``."""


class WholeNumberField(forms.IntegerField):
    """ASCII digits, with ``-`` when negative: ``1.5``, ``1.0``, ``+1``, ``1e3`` and ``١`` are invalid."""

    def to_python(self, value):
        text = str(value).strip() if value not in self.empty_values else value
        if text not in self.empty_values and not re.fullmatch(r"-?[0-9]+", text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IntegerFilter(django_filters.NumberFilter):
    """A whole number, for integer columns: ``?rank_min=1.5`` is a 400, not a silent ``rank >= 1``."""

    field_class = WholeNumberField


class IntegerInFilter(django_filters.BaseInFilter, IntegerFilter):
    """Comma-separated whole numbers: ``?rank__in=1,2,3``."""


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """Comma-separated enum values, each checked: ``?status__in=READY,FAILED``."""


class StrictBooleanField(forms.Field):
    """``true``/``false`` (also 1/0, yes/no, on/off); anything else is invalid rather than ignored."""

    def to_python(self, value):
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter whose unknown values are a 400."""

    field_class = StrictBooleanField


class SoftDeleteFilterSet(django_filters.FilterSet):
    """``is_deleted``: ADMIN users choose live (false) or deleted (true) rows; others only have live ones."""

    is_deleted = StrictBooleanFilter(
        field_name="deleted_at",
        lookup_expr="isnull",
        exclude=True,
        label="Deleted rows (true) or live rows (false). Only ADMIN users can see deleted rows.",
    )
