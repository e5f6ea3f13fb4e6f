"""Fast validation of many flat items against one serializer, falling back to DRF item by item.

DRF validates an item field by field through generic machinery (``get_value``, ``validate_empty_values``,
``run_validation``, the ``validators`` property, ``set_value``...): about 5 µs per field even when the
value is a plain, well-formed string. A batch endpoint validating 1,000 items of ten fields spends most of
its time there. :class:`FastItemValidator` looks at the serializer's writable fields once and keeps, per
field, a check that accepts only the canonical form of a valid value (an ASCII string already trimmed
and within its limits, a canonical UUID, an ISO 8601 time with an offset, a plain decimal string within
its digits: always a JSON string where the schema asks for one, see gateway/api/strict.py) and converts
it exactly as the field would. An item whose every field passes gets the same validated data as
``serializer.run_validation(item)``; any other item (an error, an unusual but valid spelling) is handed
to ``serializer.run_validation`` itself, so errors and edge cases stay DRF's. gateway/tests/test_fast_paths.py
compares the two on valid and invalid items.

A field left out of an item takes its default as DRF gives it (``field.get_default()``). Fields of other
kinds, fields with validators not listed here, ``validate_<field>`` methods or serializer-level
validators turn the fast path off for the whole serializer (every item goes to DRF).

:func:`validate_batch` validates the items of an ingest batch this way, each on its own.
"""

import decimal
import re
import uuid
from datetime import date, datetime

import orjson
from django.core import validators as django_validators
from django.utils.timezone import get_current_timezone
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.settings import api_settings

from gateway.api import strict
from gateway.api.fields import JSONListField, JSONObjectField

MAX_INGEST_ITEMS = 1000
MISSING = object()
# Validators a canonical value (a non-empty, trimmed ASCII string without NUL) always passes.
PLAIN_TEXT_VALIDATORS = (
    django_validators.ProhibitNullCharactersValidator,
    drf_fields.ProhibitSurrogateCharactersValidator,
)
_REJECT = object()  # a check's answer for "not the canonical form: let DRF decide"


class FastItemValidator:
    """Validate items with ``serializer``'s writable fields; see the module docstring.

    ``json_checked``: the items come from a ``JSONField`` (e.g. the child of a ``ListField``) that has
    already checked they are JSON, so nested JSON values need no second check.
    """

    def __init__(self, serializer: serializers.Serializer, *, json_checked: bool = False):
        self.serializer = serializer
        self.checks = _plan(serializer, json_checked)
        self.names = frozenset(check[0] for check in self.checks or ())

    def run_validation(self, item):
        """What ``serializer.run_validation(item)`` returns (or raises), mostly without calling it.

        An item with a key that is not a writable field goes to DRF, whose serializer names it (see
        ``gateway.api.serializers.StrictInputMixin``).
        """
        if self.checks is not None and type(item) is dict and item.keys() <= self.names:
            validated = {}
            for name, required, allow_null, check, field in self.checks:
                value = item.get(name, MISSING)
                if value is MISSING:
                    if required:
                        break
                    if field.default is not drf_fields.empty:
                        validated[name] = field.get_default()
                    continue
                if value is None:
                    if not allow_null:
                        break
                else:
                    value = check(value)
                    if value is _REJECT:
                        break
                validated[name] = value
            else:
                try:
                    return self.serializer.validate(validated)
                except Exception:
                    pass  # DRF raises it again, in its own words
        return self.serializer.run_validation(item)


def _plan(serializer, json_checked: bool):
    """``[(name, required, allow_null, check, field)]`` per writable field; None when one has no fast check."""
    if serializer.validators or getattr(serializer, "partial", False):
        return None
    checks = []
    for field in serializer._writable_fields:
        name = field.field_name
        if getattr(serializer, f"validate_{name}", None) is not None or field.source_attrs != [name]:
            return None
        check = _check(field, json_checked)
        if check is None:
            return None
        checks.append((name, field.required, field.allow_null, check, field))
    return checks


def _same(field, base, *methods: str) -> bool:
    return all(getattr(type(field), method) is getattr(base, method) for method in methods)


def _same_or_strict(field, base, *methods: str) -> bool:
    """Whether ``field`` converts as DRF's ``base`` or as its strict subclass (gateway/api/strict.py) does.

    The fast checks take only values both accept (a JSON string where the schema asks for one).
    """
    return _same(field, base, *methods) or _same(field, strict.STRICT_FIELDS[base], *methods)


def _check(field, json_checked: bool):
    """The fast check of one field, or None."""
    f = drf_fields
    if isinstance(field, f.CharField) and _same_or_strict(field, f.CharField, "to_internal_value", "run_validation"):
        return _text(field)
    # Other fields' validators: only a number's bounds (min_value / max_value) are run here.
    numeric = isinstance(field, f.DecimalField | f.IntegerField)
    if field.validators and not (numeric and _only(field, django_validators.BaseValidator)):
        return None
    if isinstance(field, f.IntegerField) and _same_or_strict(field, f.IntegerField, "to_internal_value"):
        return _integer(field)
    if isinstance(field, f.DateField) and _same(field, f.DateField, "to_internal_value"):
        return _date(field)
    if isinstance(field, f.UUIDField) and _same_or_strict(field, f.UUIDField, "to_internal_value"):
        return _uuid({})
    if isinstance(field, f.ChoiceField) and _same(field, f.ChoiceField, "to_internal_value"):
        return _choice(field.choice_strings_to_values)
    if isinstance(field, f.DecimalField) and _same_or_strict(field, f.DecimalField, "to_internal_value"):
        return _decimal(field)
    if isinstance(field, f.DateTimeField) and _same(field, f.DateTimeField, "to_internal_value"):
        return _datetime(field)
    if json_checked and type(field) in (JSONObjectField, JSONListField, f.JSONField) and not field.binary:
        wanted = {JSONObjectField: dict, JSONListField: list}.get(type(field))
        return _json(wanted)
    return None


def _only(field, *kinds) -> bool:
    return all(isinstance(validator, kinds) for validator in field.validators)


def _text(field):
    """A ``str`` that is ASCII (so no surrogates), has no NUL, is already trimmed and passes the validators."""
    max_length, min_length, patterns = None, None, []
    for validator in field.validators:
        if isinstance(validator, django_validators.MaxLengthValidator):
            max_length = validator.limit_value if max_length is None else min(max_length, validator.limit_value)
        elif isinstance(validator, django_validators.MinLengthValidator):
            min_length = validator.limit_value if min_length is None else max(min_length, validator.limit_value)
        elif isinstance(validator, django_validators.RegexValidator):
            patterns.append((validator.regex, validator.inverse_match))
        elif not isinstance(validator, PLAIN_TEXT_VALIDATORS):
            return None
    if callable(max_length) or callable(min_length):
        return None
    trim = field.trim_whitespace

    def check(value):
        if (
            type(value) is not str
            or not value
            or not value.isascii()
            or "\x00" in value
            or (trim and value != value.strip())
            or (max_length is not None and len(value) > max_length)
            or (min_length is not None and len(value) < min_length)
        ):
            return _REJECT
        for regex, inverse in patterns:
            if bool(regex.search(value)) == inverse:
                return _REJECT
        return value

    return check


def _uuid(parsed: dict):
    """A canonical UUID string; the items of a batch name the same few campaigns and clips, so each is parsed once."""

    def check(value):
        if type(value) is not str or len(value) != 36:
            return _REJECT
        result = parsed.get(value)
        if result is None:
            try:
                result = uuid.UUID(value)
            except ValueError:
                result = _REJECT
            if len(parsed) < 10_000:
                parsed[value] = result
        return result

    return check


def _choice(mapping: dict):
    def check(value):
        return mapping.get(value, _REJECT) if type(value) is str else _REJECT

    return check


def _decimal(field):
    places, max_digits = field.decimal_places, field.max_digits
    if places is None or max_digits is None or field.localize or max_digits <= places:
        return None
    whole = max_digits - places
    pattern = re.compile(rf"[0-9]{{1,{whole}}}(?:\.[0-9]{{1,{places}}})?" if places else rf"[0-9]{{1,{whole}}}")
    exponent = decimal.Decimal(1).scaleb(-places)
    # Bounds as plain comparisons (what Min/MaxValueValidator do); any other validator is called.
    low, high, validators = _bounds(field)

    def check(value):
        # Strings only: JSON numbers are refused in request bodies (gateway/api/strict.py), so DRF says so.
        if type(value) is not str or not pattern.fullmatch(value):
            return _REJECT
        number = decimal.Decimal(value).quantize(exponent)
        if (low is not None and number < low) or (high is not None and number > high):
            return _REJECT
        try:
            for validator in validators:
                validator(number)
        except Exception:
            return _REJECT
        return number

    return check


def _bounds(field) -> tuple:
    """``(low, high, other validators)``: a number field's plain bounds, which are compared here, and the rest."""
    low = high = None
    validators = []
    for validator in field.validators:
        limit = validator.limit_value
        if type(validator) is django_validators.MinValueValidator and not callable(limit):
            low = limit if low is None else max(low, limit)
        elif type(validator) is django_validators.MaxValueValidator and not callable(limit):
            high = limit if high is None else min(high, limit)
        else:
            validators.append(validator)
    return low, high, validators


def _integer(field):
    """A JSON integer (never a boolean) within the bounds; one beyond 64 bits is left to DRF."""
    low, high, validators = _bounds(field)
    if validators:
        return None

    def check(value):
        if type(value) is not int or value.bit_length() > 63:
            return _REJECT
        if (low is not None and value < low) or (high is not None and value > high):
            return _REJECT
        return value

    return check


def _date(field):
    """A ``YYYY-MM-DD`` string naming a real day (DRF's ``parse_date`` returns the same date for it)."""
    input_formats = getattr(field, "input_formats", api_settings.DATE_INPUT_FORMATS)
    if list(input_formats) != [drf_fields.ISO_8601]:
        return None

    def check(value):
        if type(value) is not str or len(value) != 10 or value[4] != "-" or value[7] != "-":
            return _REJECT
        try:
            return date.fromisoformat(value)
        except ValueError:
            return _REJECT

    return check


def _datetime(field):
    input_formats = getattr(field, "input_formats", api_settings.DATETIME_INPUT_FORMATS)
    if list(input_formats) != [drf_fields.ISO_8601] or hasattr(field, "timezone") or field.default_timezone() is None:
        return None

    def check(value):
        if type(value) is not str:
            return _REJECT
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None or parsed.utcoffset() is None:
                return _REJECT
            return parsed.astimezone(get_current_timezone())
        except (ValueError, OverflowError):
            return _REJECT

    return check


def _json(wanted: type | None):
    def check(value):
        if wanted is not None and type(value) is not wanted:
            return _REJECT
        return value

    return check


class JSONValueField(serializers.JSONField):
    """DRF's ``JSONField`` whose "is it JSON?" check is done by orjson (the standard library when orjson refuses).

    The check encodes the value to see that it can be encoded; orjson does that about ten times faster,
    and where it refuses a value (an integer beyond 64 bits, a non-string key) the standard library has
    the last word, so the field accepts exactly what ``JSONField`` accepts.
    """

    def to_internal_value(self, data):
        if self.binary or getattr(data, "is_json_string", False):
            return super().to_internal_value(data)
        try:
            orjson.dumps(data)
        except TypeError:
            return super().to_internal_value(data)
        return data


def validate_batch(items: list, item_serializer: serializers.Serializer) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Validate each item of an ingest batch on its own: ``([(index, validated data)], [{"index", "errors"}])``.

    ``items`` come from a list of JSON values (see :class:`IngestItemsField`); an item that is not an
    object is ``{"non_field_errors": ["Must be an object."]}``, any other error is the item
    serializer's, field by field. One serializer validates every item, its fields built once per batch,
    not once per item, and well-formed items take the fast path of :class:`FastItemValidator`.
    """
    validator = FastItemValidator(item_serializer, json_checked=True)
    valid, errors = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": index, "errors": {"non_field_errors": ["Must be an object."]}})
            continue
        try:
            valid.append((index, validator.run_validation(item)))
        except serializers.ValidationError as error:
            errors.append({"index": index, "errors": dict(error.detail)})
    return valid, errors


def existing_pks(queryset, pks) -> set:
    """Which of ``pks`` (None left out) name rows of ``queryset``, in one query (none when there is nothing to ask)."""
    wanted = {pk for pk in pks if pk is not None}
    return set(queryset.filter(pk__in=wanted).values_list("pk", flat=True)) if wanted else set()


class IngestItemsField(serializers.ListField):
    """The items of an ingest batch: 1 to ``MAX_INGEST_ITEMS`` JSON values, each checked later on its own.

    Any JSON value is taken here, null included, so that a bad item is reported in the answer's
    ``errors`` with its index (:func:`validate_batch`) instead of failing the whole request.
    ``item_serializer`` (a class) is what each item must be: the schema documents the items as its
    component (gateway/api/schema.py), so a typed client sends its own models.
    """

    def __init__(self, *, item_serializer: type[serializers.Serializer], **kwargs):
        self.item_serializer = item_serializer
        kwargs.setdefault("child", JSONValueField(allow_null=True))
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", MAX_INGEST_ITEMS)
        kwargs.setdefault("allow_empty", False)
        super().__init__(**kwargs)


def ingest_error_serializer(name: str, items: str) -> type[serializers.Serializer]:
    """The serializer class ``name`` of one refused item of a batch sent as ``items``: its index and field errors.

    Each endpoint gets its own class, so its schema component keeps its name and says which list ``index`` counts in.
    """
    fields = {
        "index": strict.IntegerField(help_text=f"Position of the item in `{items}`."),
        "errors": serializers.DictField(help_text="Field errors of that item."),
    }
    return type(name, (serializers.Serializer,), fields)
