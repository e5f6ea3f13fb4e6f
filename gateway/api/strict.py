"""Strict JSON types in request bodies: a field takes the JSON type the OpenAPI schema documents for it.

DRF's fields are lenient by design: a ``CharField`` takes ``12`` and stores ``"12"``, ``IntegerField`` and
``FloatField`` take ``"3"`` and ``"1.5"``, ``FloatField`` takes ``true`` (as 1.0), ``BooleanField`` takes
``"yes"`` and ``1``, ``DecimalField`` takes ``9.99``, ``"1e3"`` and ``"+5"``, ``UUIDField`` takes an integer.
The schema documents one JSON type per field, and a client that sends another has a bug it should hear
about, so in JSON bodies the fields of this module answer those with the field's usual 400 message
(``"Not a valid string."``, ``"A valid integer is required."``...):

- text fields (:class:`CharField` and its subclasses: email, regex, slug, URL): a JSON string;
- :class:`IntegerField` (and :class:`BigIntegerField`): a JSON integer (``3.0`` too: JSON Schema counts it as
  an integer); never a boolean;
- :class:`FloatField`: a JSON number; never a boolean;
- :class:`DecimalField`: a JSON string written as the schema's pattern says: digits with an optional ``-``
  and an optional fraction (``"12"``, ``"-0.5"``, ``"12.50"``), no exponent, sign ``+`` or spaces;
- :class:`BooleanField`: ``true`` or ``false``;
- :class:`UUIDField`: a JSON string.

Text is also measured as sent: DRF trims it before checking ``max_length``, so a value made too long by
surrounding whitespace would pass although the schema's ``maxLength`` refuses it.

Query-string serializers (their data is a ``QueryDict``: every value is text) keep DRF's parsing.

The classes are DRF's own, subclassed: they answer to the same names (``strict.CharField(max_length=50)``),
give the same schema and the same representation. Serializers declare them instead of DRF's, and the
project's ``ModelSerializer`` (gateway/api/serializers.py) builds its model fields from them through
:func:`strict_mapping`. Other serializers (DRF's, third parties') keep DRF's behaviour. (DRF's
``IPAddressField`` refuses anything but a string itself; no model of the project has one.)
"""

import re

from django.http import QueryDict
from rest_framework import fields

DECIMAL_SYNTAX = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def from_query_string(field) -> bool:
    """Whether ``field`` is validating a query string (its root serializer's data is a ``QueryDict``)."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictField:
    """Mixed in before a DRF field: in a JSON body, data of another JSON type than ``accepts`` allows is refused.

    The check runs before the field's own conversion and fails with the field's own ``invalid`` message.
    """

    @staticmethod
    def accepts(data) -> bool:
        raise NotImplementedError

    def to_internal_value(self, data):
        if not from_query_string(self):
            self.check_sent(data)
        return super().to_internal_value(data)

    def check_sent(self, data) -> None:
        if not self.accepts(data):
            self.fail("invalid")


class StrictText(StrictField):
    """A JSON string, measured as sent: DRF trims it before checking ``max_length``, the schema does not."""

    @staticmethod
    def accepts(data) -> bool:
        return isinstance(data, str)

    def check_sent(self, data) -> None:
        super().check_sent(data)
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)


class StrictInteger(StrictField):
    @staticmethod
    def accepts(data) -> bool:
        if isinstance(data, bool):
            return False
        return isinstance(data, int) or (isinstance(data, float) and data.is_integer())


class CharField(StrictText, fields.CharField):
    """DRF's ``CharField`` taking a JSON string only."""


class EmailField(StrictText, fields.EmailField):
    """DRF's ``EmailField`` taking a JSON string only."""


class RegexField(StrictText, fields.RegexField):
    """DRF's ``RegexField`` taking a JSON string only."""


class SlugField(StrictText, fields.SlugField):
    """DRF's ``SlugField`` taking a JSON string only."""


class URLField(StrictText, fields.URLField):
    """DRF's ``URLField`` taking a JSON string only."""


class UUIDField(StrictField, fields.UUIDField):
    """DRF's ``UUIDField`` taking a JSON string only."""

    @staticmethod
    def accepts(data) -> bool:
        return isinstance(data, str)


class IntegerField(StrictInteger, fields.IntegerField):
    """DRF's ``IntegerField`` taking a JSON integer only (``3.0`` included), never a boolean."""


class BigIntegerField(StrictInteger, fields.BigIntegerField):
    """DRF's ``BigIntegerField`` taking a JSON integer only (``3.0`` included), never a boolean."""


class FloatField(StrictField, fields.FloatField):
    """DRF's ``FloatField`` taking a JSON number only, never a boolean."""

    @staticmethod
    def accepts(data) -> bool:
        return isinstance(data, int | float) and not isinstance(data, bool)


class DecimalField(StrictField, fields.DecimalField):
    """DRF's ``DecimalField`` taking a JSON string of plain decimal syntax only (``"-12.50"``)."""

    @staticmethod
    def accepts(data) -> bool:
        return isinstance(data, str) and DECIMAL_SYNTAX.fullmatch(data) is not None


class BooleanField(StrictField, fields.BooleanField):
    """DRF's ``BooleanField`` taking ``true`` or ``false`` only."""

    @staticmethod
    def accepts(data) -> bool:
        return isinstance(data, bool)


# DRF's lenient field class -> its strict subclass.
STRICT_FIELDS: dict[type, type] = {
    fields.CharField: CharField,
    fields.EmailField: EmailField,
    fields.RegexField: RegexField,
    fields.SlugField: SlugField,
    fields.URLField: URLField,
    fields.UUIDField: UUIDField,
    fields.IntegerField: IntegerField,
    fields.BigIntegerField: BigIntegerField,
    fields.FloatField: FloatField,
    fields.DecimalField: DecimalField,
    fields.BooleanField: BooleanField,
}


def strict_mapping(mapping: dict) -> dict:
    """``ModelSerializer.serializer_field_mapping`` with every lenient DRF field class replaced by its strict one."""
    return {model_field: STRICT_FIELDS.get(field, field) for model_field, field in mapping.items()}
