"""The API's validation rules on the console's forms: the same limits and the same words, next to the field.

A model admin names its app's API serializer in ``api_serializer``. Each form field then gets the validators of
the serializer's field of the same name (``min_value``/``max_value`` limits, a regex such as a currency code,
"greater than 0"), with the serializer's own messages, and the form checks the serializer's ``ranges``
(``gateway.api.fields.Range``: ``end_time`` after ``start_time``) on the field the API names. A value the
database's CHECK constraints would refuse is so reported on its field, as the API words it ("Ensure this value
is less than or equal to 1.0."), instead of "Constraint … is violated." at the top of the form.
"""

from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator, RegexValidator

from gateway.api.fields import PositiveFloatField

# The validators a DRF field adds for its own arguments (``min_value``, ``max_value``, a ``RegexField``'s
# pattern); its other validators (uniqueness) need a serializer around them.
FIELD_VALIDATORS = (MinValueValidator, MaxValueValidator, RegexValidator)


class GreaterThanValidator(BaseValidator):
    """``value > limit_value`` (DRF's ``min_value`` is inclusive; ``PositiveFloatField`` is not)."""

    code = "not_positive"

    def compare(self, value, limit):
        return value <= limit


@cache
def serializer_fields(serializer_class) -> dict:
    """The fields of ``serializer_class`` by name, built once (no request is needed to read their rules)."""
    return dict(serializer_class().fields)


def api_validators(serializer_class, name: str) -> list:
    """The validators, with the API's messages, of the serializer's field ``name`` (none without such a field)."""
    field = serializer_fields(serializer_class).get(name)
    if field is None or field.read_only:
        return []
    validators = [validator for validator in field.validators if isinstance(validator, FIELD_VALIDATORS)]
    if isinstance(field, PositiveFloatField):
        validators.append(GreaterThanValidator(0, message=field.error_messages["not_positive"]))
    return validators


def check_api_ranges(form, serializer_class) -> None:
    """Add the errors of the serializer's ``ranges`` to ``form``, on the fields the API names (or the form's top)."""
    errors: dict = {}
    for rule in getattr(serializer_class, "ranges", ()):
        rule.check(errors, form.cleaned_data, form.instance)
    for name, messages in errors.items():
        field = name if name in form.fields and name not in form.errors else None
        for message in messages:
            form.add_error(field, ValidationError(message, code="range"))


class ApiRulesFormMixin:
    """A model form that also checks the ``ranges`` of its ``api_serializer`` (a class attribute) after its fields."""

    api_serializer = None

    def clean(self):
        cleaned_data = super().clean()
        if self.api_serializer is not None:
            check_api_ranges(self, self.api_serializer)
        return cleaned_data
