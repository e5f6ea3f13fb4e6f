"""Filter classes shared by the apps' FilterSets."""

import re

import django_filters
from django import forms
from django_filters.fields import BaseCSVField
from django_filters.widgets import BaseCSVWidget

from gateway.api.viewsets import FALSE_VALUES, TRUE_VALUES

MULTIPLE_VALUES_HELP = "Several values: repeat the parameter (`x=a&x=b`) or separate them with commas (`x=a,b`)."


class RepeatedOrCSVWidget(BaseCSVWidget):
    """The values of a parameter given once with commas (``?x=a,b``), repeated (``?x=a&x=b``), or both.

    django-filter's CSV widget reads the last value of a repeated parameter only: ``?x=a&x=b`` would
    silently mean ``?x=b``. Empty values are left out; a parameter given only empty is an empty list
    (no filter), as django-filter reads ``?x=``.
    """

    def value_from_datadict(self, data, files, name):
        if not hasattr(data, "getlist"):
            return super().value_from_datadict(data, files, name)
        given = data.getlist(name)
        if not given:
            return None
        return [part for value in given if value != "" for part in value.split(",")]


class MultiValueField(BaseCSVField):
    """django-filter's CSV form field, reading repeated parameters too (:class:`RepeatedOrCSVWidget`)."""

    base_widget_class = RepeatedOrCSVWidget


class MultiValueFilter(django_filters.BaseCSVFilter):
    """A filter taking several values, repeated or comma-separated; ``FilterBackend`` lets only these repeat."""

    base_field_class = MultiValueField
    multi_valued = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", MULTIPLE_VALUES_HELP)
        super().__init__(*args, **kwargs)


class InFilter(MultiValueFilter, django_filters.BaseInFilter):
    """Any of several values: ``?<name>__in=a,b`` or ``?<name>__in=a&<name>__in=b``."""


class OrderingFilter(MultiValueFilter, django_filters.OrderingFilter):
    """Ordering by several fields, repeated or comma-separated: ``?ordering=-value,timestamp``.

    ``?ordering=-value&ordering=timestamp`` is the same order, not ``timestamp`` alone.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Sort keys in order of precedence, `-` for descending: repeat the parameter or separate them with commas.",
        )
        super().__init__(*args, **kwargs)


class UUIDInFilter(InFilter, django_filters.UUIDFilter):
    """Several UUIDs: ``?asset__in=<id>,<id>``."""


class CharInFilter(InFilter, django_filters.CharFilter):
    """Several strings: ``?platform__in=meta,google``."""


class NumberInFilter(InFilter, django_filters.NumberFilter):
    """Several numbers: ``?score__in=0.5,0.75``."""


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


class IntegerInFilter(InFilter, IntegerFilter):
    """Several whole numbers: ``?rank__in=1,2,3``."""


class ChoiceInFilter(InFilter, django_filters.ChoiceFilter):
    """Several enum values, each checked: ``?status__in=READY,FAILED``."""


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
    """``<name>`` and ``<name>__in``: one related row's id, or any of several."""
    return (
        django_filters.UUIDFilter(field_name=field_name, lookup_expr="exact"),
        UUIDInFilter(field_name=field_name, lookup_expr="in"),
    )


def text_filters(field_name):
    """``<name>`` and ``<name>__in``: one string, or any of several."""
    return (
        django_filters.CharFilter(field_name=field_name, lookup_expr="exact"),
        CharInFilter(field_name=field_name, lookup_expr="in"),
    )


def choice_filters(field_name, choices):
    """``<name>`` and ``<name>__in``: one enum value, or any of several, each checked."""
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
