"""Strict JSON types in request bodies: a field takes the JSON type the OpenAPI schema documents for it.

DRF's fields are lenient by design: a ``CharField`` takes ``12`` and stores ``"12"``, ``IntegerField`` and
``FloatField`` take ``"3"`` and ``"1.5"``, ``FloatField`` takes ``true`` (as 1.0), ``BooleanField`` takes
``"yes"`` and ``1``, ``DecimalField`` takes ``9.99``, ``"1e3"`` and ``"+5"``, ``UUIDField`` takes an integer.
The schema documents one JSON type per field, and a client that sends another has a bug it should hear
about, so in JSON bodies the API answers those with the field's usual 400 message (``"Not a valid
string."``, ``"A valid integer is required."``...):

- text fields (``CharField`` and its subclasses: email, regex, slug, URL): a JSON string;
- ``IntegerField``: a JSON integer (``3.0`` too: JSON Schema counts it as an integer); never a boolean;
- ``FloatField``: a JSON number; never a boolean;
- ``DecimalField``: a JSON string written as the schema's pattern says: digits with an optional ``-``
  and an optional fraction (``"12"``, ``"-0.5"``, ``"12.50"``), no exponent, sign ``+`` or spaces;
- ``BooleanField``: ``true`` or ``false``;
- ``UUIDField``: a JSON string.

Text is also measured as sent: DRF trims it before checking ``max_length``, so a value made too long by
surrounding whitespace would pass although the schema's ``maxLength`` refuses it.

Query-string serializers (their data is a ``QueryDict``: every value is text) keep DRF's parsing.
:func:`install` applies the rules once, from ``GatewayConfig.ready``.
"""

import re

from django.http import QueryDict
from rest_framework import fields

DECIMAL_SYNTAX = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def _text(value) -> bool:
    return isinstance(value, str)


def _integer(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimal(value) -> bool:
    return isinstance(value, str) and DECIMAL_SYNTAX.fullmatch(value) is not None


def _boolean(value) -> bool:
    return isinstance(value, bool)


RULES = {
    fields.CharField: _text,
    fields.UUIDField: _text,
    fields.IntegerField: _integer,
    fields.FloatField: _number,
    fields.DecimalField: _decimal,
    fields.BooleanField: _boolean,
}

_installed = False


def from_query_string(field) -> bool:
    """Whether ``field`` is validating a query string (its root serializer's data is a ``QueryDict``)."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


def _strict(original, accepts):
    def to_internal_value(self, data):
        if not from_query_string(self):
            if not accepts(data):
                self.fail("invalid")
            # DRF trims text before checking its length; the schema's maxLength is about what was sent.
            max_length = getattr(self, "max_length", None)
            if isinstance(self, fields.CharField) and max_length is not None and len(data) > max_length:
                self.fail("max_length", max_length=max_length)
        return original(self, data)

    to_internal_value.__doc__ = original.__doc__
    to_internal_value.__wrapped__ = original
    return to_internal_value


def install() -> None:
    """Apply the rules to DRF's field classes (and so to their subclasses); a second call does nothing."""
    global _installed
    if _installed:
        return
    for field_class, accepts in RULES.items():
        field_class.to_internal_value = _strict(field_class.to_internal_value, accepts)
    _installed = True
