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


def related_filters(field_name):
    """``<name>`` and ``<name>__in``: one related row's id, or any of a comma-separated list of them."""
    return (
        django_filters.UUIDFilter(field_name=field_name, lookup_expr="exact"),
        UUIDInFilter(field_name=field_name, lookup_expr="in"),
    )


def text_filters(field_name):
    """``<name>`` and ``<name>__in``: one string, or any of a comma-separated list."""
    return (
        django_filters.CharFilter(field_name=field_name, lookup_expr="exact"),
        CharInFilter(field_name=field_name, lookup_expr="in"),
    )


def choice_filters(field_name, choices):
    """``<name>`` and ``<name>__in``: one enum value, or any of a comma-separated list, each checked."""
    return (
        django_filters.ChoiceFilter(field_name=field_name, lookup_expr="exact", choices=choices),
        ChoiceInFilter(field_name=field_name, lookup_expr="in", choices=choices),
    )


def integer_filters(field_name):
    """``<name>``, ``<name>__in``, ``<name>_min`` and ``<name>_max`` on an integer column."""
    return (
        IntegerFilter(field_name=field_name, lookup_expr="exact"),
        IntegerInFilter(field_name=field_name, lookup_expr="in"),
        IntegerFilter(field_name=field_name, lookup_expr="gte"),
        IntegerFilter(field_name=field_name, lookup_expr="lte"),
    )


def datetime_range_filters(field_name):
    """``<name>_after`` and ``<name>_before``: ISO 8601 bounds, both inclusive."""
    return (
        django_filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="gte"),
        django_filters.IsoDateTimeFilter(field_name=field_name, lookup_expr="lte"),
    )


class FilterSet(django_filters.FilterSet):
    """Every resource's rows can be narrowed to a creation period: ``created_at_after``, ``created_at_before``."""

    created_at_after, created_at_before = datetime_range_filters("created_at")


class SoftDeleteFilterSet(FilterSet):
    """``is_deleted``: ADMIN users choose live (false) or deleted (true) rows; others only have live ones."""

    is_deleted = StrictBooleanFilter(
        field_name="deleted_at",
        lookup_expr="isnull",
        exclude=True,
        label="Deleted rows (true) or live rows (false). Only ADMIN users can see deleted rows.",
    )
