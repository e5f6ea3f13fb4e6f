"""Serializer fields and validators shared by the apps' serializers."""

from dataclasses import dataclass

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from gateway.api import strict
from gateway.db.compiled import CompiledQuery


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object given by id, looked up among the rows the caller may reach.

    That is ``model.objects.visible_to(user)``: every live row for an ADMIN, their own for anyone else.
    Someone else's row and a deleted one are both "does not exist": a 400 naming the field that does
    not reveal whether the row exists. A malformed id is "Must be a valid UUID."
    """

    default_error_messages = {
        "does_not_exist": "No {model} with id {pk_value} exists or you may not use it.",
        "incorrect_type": "A {model} id (UUID) is required, not {data_type}.",
    }

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("pk_field", strict.UUIDField(format="hex_verbose"))
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.visible_to(self.caller())

    def caller(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def to_internal_value(self, data):
        # DRF's lookup (``get_queryset().get(pk=...)``) through SQL compiled once per model and role; a subclass
        # with rows of its own is looked up by DRF.
        if type(self).get_queryset is not ScopedPrimaryKeyRelatedField.get_queryset:
            return super().to_internal_value(data)
        value = self.pk_field.to_internal_value(data)
        if rows := REACHABLE_ROWS(model=self.model, user=self.caller(), pk=value):
            return rows[0]
        self.fail("does_not_exist", pk_value=value)

    def fail(self, key, **kwargs):
        kwargs.setdefault("model", self.model._meta.verbose_name)
        super().fail(key, **kwargs)


def reachable_rows(*, model, user, pk):
    """The row of ``model`` whose primary key is ``pk``, if ``user`` may reach it (``visible_to``)."""
    return model.objects.visible_to(user).filter(pk=pk)[:1]


# Compiled once per model and role; a caller that is no user (anonymous, none) is run by Django.
REACHABLE_ROWS = CompiledQuery(reachable_rows, shape=("model",), instances={"user": ("role",)})


class UniqueOrNullValidator(UniqueValidator):
    """``UniqueValidator`` that lets ``None`` through (NULLs never collide in a unique index).

    Pass ``Model.all_objects`` as the queryset of a soft model: the unique index covers deleted rows too.
    """

    def __call__(self, value, serializer_field):
        if value is None:
            return
        super().__call__(value, serializer_field)


class JSONOfTypeField(serializers.JSONField):
    """A JSON value of one type, ``json_type``; anything else is a 400 with the ``wrong_type`` error."""

    json_type: type
    wrong_type: str  # the error code, one of ``default_error_messages``

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, self.json_type):
            self.fail(self.wrong_type)
        return value


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(JSONOfTypeField):
    """A JSON object (``{}``); anything else is a 400."""

    json_type, wrong_type = dict, "not_an_object"
    default_error_messages = {"not_an_object": "Must be a JSON object."}


@extend_schema_field({"type": "array", "items": {}})
class JSONListField(JSONOfTypeField):
    """A JSON array (``[]``); anything else is a 400."""

    json_type, wrong_type = list, "not_a_list"
    default_error_messages = {"not_a_list": "Must be a JSON array."}


@extend_schema_field({"type": "number", "format": "double", "minimum": 0, "exclusiveMinimum": True})
class PositiveFloatField(strict.FloatField):
    """A number greater than 0 (DRF's ``min_value`` is inclusive; the schema says ``exclusiveMinimum``)."""

    default_error_messages = {"not_positive": "Ensure this value is greater than 0."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value <= 0:
            self.fail("not_positive")
        return value


class CurrencyField(strict.RegexField):
    """An ISO 4217 currency code such as ``USD`` (three upper-case letters)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault(
            "error_messages", {"invalid": "Must be an ISO 4217 code: three upper-case letters, e.g. USD."}
        )
        super().__init__(r"^[A-Z]{3}$", **kwargs)


@dataclass(frozen=True)
class Range:
    """A rule between two fields of a row: ``low <= high`` (``low < high`` when ``strict``).

    A serializer lists its rules in ``ranges`` (gateway.api.serializers.ModelSerializer). A broken rule adds
    ``message`` under ``field`` (default ``high``). Values come from the body where given, else from the row
    being updated (partial updates); a missing one passes.
    """

    low: str
    high: str
    message: str
    strict: bool = False
    field: str | None = None

    def check(self, errors: dict, attrs: dict, instance) -> None:
        """Add ``message`` to ``errors`` when the row ``attrs`` would make breaks the rule."""
        low_value = attrs[self.low] if self.low in attrs else getattr(instance, self.low, None)
        high_value = attrs[self.high] if self.high in attrs else getattr(instance, self.high, None)
        if low_value is None or high_value is None:
            return
        if high_value < low_value or (self.strict and high_value == low_value):
            errors.setdefault(self.field or self.high, []).append(self.message)
