"""Fast reads for model serializers: the per-field work of ``to_representation`` planned once per class.

DRF's ``Serializer.to_representation`` dispatches, for every field of every row, through
``field.get_attribute`` (a generic attribute walk with exception handling) and ``field.to_representation``;
and it builds the serializer's fields (model introspection, validators) on every request before the
first row. :class:`FastRepresentationMixin` looks at the fields once per serializer class and keeps, per
field, the cheapest exact way to read and convert it:

- a model column read with ``operator.attrgetter`` and converted by a builtin (``str`` for text and
  UUIDs, ``int``, ``float``, ``bool``), a choice lookup, an ISO 8601 formatter for aware datetimes,
  a decimal formatter, or nothing at all (JSON);
- a foreign key given by id (``PrimaryKeyRelatedField``) read from its ``<name>_id`` column;
- a nested serializer whose own plan needs no request context, through a copy of that field kept
  with the plan; a nested list read as rows (:class:`NestedRowsSerializer`: one ``values()`` query, no model
  instances) the same way;
- anything else (``SerializerMethodField``, fields that look at the request, unknown field types)
  through the serializer's own bound field, exactly as DRF does.

A serializer whose every field reads one column (or one row joined by a foreign key, read the same way) can
also represent rows from ``values()`` (:func:`row_plan`, :func:`represent_queryset`): one query of exactly those
columns and no model instances, for the hot lists.

Every value is what DRF would give (the conversions are DRF's own, minus the dispatch); values the fast
converters do not expect (a naive datetime, a decimal with other places) go through the field's own
``to_representation``. A class whose plan has no bound fields never builds its fields to read: a list
of 50 rows costs one plan lookup and 50 tight loops. Inputs, validation and the browsable API still
use the fields as usual.
"""

import decimal
from contextvars import ContextVar
from datetime import datetime
from operator import attrgetter

from django.db import models
from django.utils.timezone import get_current_timezone
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

from gateway.db.compiled import CompiledQuery

FAST = "fast"  # (name, getter, converter, column): value = getter(instance); None stays None
PROTOTYPE = "prototype"  # (name, field): a context-free field kept with the plan, used as DRF would
BOUND = "bound"  # (name, None): the serializer's own bound field, used as DRF would

# Model fields whose Python values DRF's ModelField passes through unchanged (Django's protected types).
PROTECTED = (models.FloatField, models.IntegerField, models.DecimalField, models.DateField, models.TimeField)

_plans: dict[type, list[tuple]] = {}

# The current time zone while a row (its nested rows included) or a list of rows from ``values()`` is represented:
# looked up once there rather than once per datetime, since the lookup (a context-local: about 2 µs) costs more
# than a datetime's conversion. Unset outside a representation.
_zone: ContextVar = ContextVar("representation_zone", default=None)


def _identity(value):
    return value


class FastRepresentationMixin:
    """Mix into a ``ModelSerializer`` (before it) for fast ``to_representation`` of model instances.

    Only for serializers whose set of readable fields is the same for every request (it is planned
    once per class). A subclass that changes fields per request sets ``fast_representation = False``.
    """

    fast_representation = True

    def to_representation(self, instance):
        if not self.fast_representation or not isinstance(instance, models.Model):
            return super().to_representation(instance)
        return in_current_zone(self.represent, instance)

    def represent(self, instance) -> dict:
        """``instance`` through the class's plan (the current time zone pinned by the caller)."""
        plan = _plans.get(type(self))
        if plan is None:
            plan = _plans[type(self)] = build_plan(self)
        ret = {}
        for kind, name, getter, convert, _ in plan:
            if kind is FAST:
                value = getter(instance)
                ret[name] = None if value is None else convert(value)
                continue
            field = getter if kind is PROTOTYPE else self.fields[name]
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret


def context_free(serializer_class) -> bool:
    """Whether instances of ``serializer_class`` represent rows without looking at the request."""
    plan = _plans.get(serializer_class)
    return plan is not None and all(kind is not BOUND for kind, *_ in plan)


def build_plan(serializer) -> list[tuple]:
    """The plan of ``serializer``'s class: one ``(kind, name, getter, converter, column)`` per readable field."""
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    plan = []
    for field in serializer.fields.values():
        if field.write_only:
            continue
        entry = _fast_entry(field, model) if model is not None else None
        if entry is None and _nested_context_free(field):
            entry = (PROTOTYPE, field.field_name, field, None, None)
        plan.append(entry or (BOUND, field.field_name, None, None, None))
    return plan


def _concrete_field(model, source: str):
    try:
        model_field = model._meta.get_field(source)
    except Exception:
        return None
    return model_field if getattr(model_field, "concrete", False) else None


def _same(field, base, method: str) -> bool:
    """Whether ``field`` uses ``base``'s ``method`` unchanged (so its conversion is DRF's own)."""
    return getattr(type(field), method) is getattr(base, method)


def _fast_entry(field, model):
    if field.source == "*" or len(field.source_attrs) != 1:
        return None
    source = field.source_attrs[0]
    model_field = _concrete_field(model, source)
    if model_field is None:
        return None
    name = field.field_name
    if isinstance(field, relations.PrimaryKeyRelatedField):
        if (
            not model_field.is_relation
            or not field.use_pk_only_optimization()
            or not _same(field, relations.RelatedField, "get_attribute")
            or not _same(field, relations.PrimaryKeyRelatedField, "to_representation")
        ):
            return None
        pk_field = field.pk_field
        convert = _identity if pk_field is None else _converter(pk_field)
        if convert is None:
            convert = pk_field.to_representation
        return (FAST, name, attrgetter(model_field.attname), convert, model_field.attname)
    if type(field) is drf_fields.ModelField:
        # A column DRF has no field for (a generated column): DRF hands back its value as is when it is a
        # number, date or time (Django's "protected" types), which these columns always hold.
        output = getattr(model_field, "output_field", model_field)
        if not isinstance(output, PROTECTED):
            return None
        return (FAST, name, attrgetter(model_field.attname), _identity, model_field.attname)
    if model_field.is_relation or not _same(field, drf_fields.Field, "get_attribute"):
        return None
    convert = _converter(field)
    return None if convert is None else (FAST, name, attrgetter(model_field.attname), convert, model_field.attname)


def _converter(field):
    """A function giving ``field.to_representation(value)`` for non-None values, or None if there is none."""
    cls = drf_fields
    if isinstance(field, cls.CharField) and _same(field, cls.CharField, "to_representation"):
        return str
    if isinstance(field, cls.UUIDField) and _same(field, cls.UUIDField, "to_representation"):
        return str if field.uuid_format == "hex_verbose" else field.to_representation
    if isinstance(field, cls.BooleanField) and _same(field, cls.BooleanField, "to_representation"):
        return _boolean(field.to_representation)
    if isinstance(field, cls.BigIntegerField) and _same(field, cls.BigIntegerField, "to_representation"):
        return str if getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING) else int
    if isinstance(field, cls.IntegerField) and _same(field, cls.IntegerField, "to_representation"):
        return int
    if isinstance(field, cls.FloatField) and _same(field, cls.FloatField, "to_representation"):
        return float
    if isinstance(field, cls.ChoiceField) and _same(field, cls.ChoiceField, "to_representation"):
        return _choice(field.choice_strings_to_values, field.to_representation)
    if isinstance(field, cls.JSONField) and _same(field, cls.JSONField, "to_representation"):
        return field.to_representation if field.binary else _identity
    if isinstance(field, cls.DateTimeField) and _same(field, cls.DateTimeField, "to_representation"):
        return _datetime(field)
    if isinstance(field, cls.DecimalField) and _same(field, cls.DecimalField, "to_representation"):
        return _decimal(field)
    if isinstance(field, cls.ReadOnlyField) and _same(field, cls.ReadOnlyField, "to_representation"):
        return _identity
    if type(field) in (cls.DateField, cls.TimeField, cls.DurationField):
        return field.to_representation
    return None


def _boolean(fallback):
    def convert(value):
        return value if value is True or value is False else fallback(value)

    return convert


def _choice(mapping: dict, fallback):
    def convert(value):
        return mapping.get(value, value) if type(value) is str else fallback(value)

    return convert


def _datetime(field):
    """ISO 8601 in the current time zone with ``Z`` for UTC, as ``DateTimeField`` gives by default."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    fallback = field.to_representation
    if (
        output_format is None
        or output_format.lower() != drf_fields.ISO_8601
        or hasattr(field, "timezone")
        or field.default_timezone() is None
    ):
        return fallback

    def convert(value):
        if type(value) is not datetime or value.tzinfo is None:
            return fallback(value)
        try:
            text = value.astimezone(_zone.get() or get_current_timezone()).isoformat()
        except OverflowError:
            return fallback(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _decimal(field):
    """A decimal already at the field's places, as a string; anything else through the field."""
    fallback = field.to_representation
    places = field.decimal_places
    if (
        places is None
        or not getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        or field.localize
        or field.normalize_output
        or field.max_digits is None
    ):
        return fallback
    exponent, max_digits = -places, field.max_digits

    def convert(value):
        if type(value) is decimal.Decimal and value.is_finite():
            sign, digits, value_exponent = value.as_tuple()
            if value_exponent == exponent and len(digits) <= max_digits:
                return f"{value:f}"
        return fallback(value)

    return convert


def _nested_context_free(field) -> bool:
    """A nested serializer (or a list of one) whose class plan needs no request, so a kept copy can serve."""
    if isinstance(field, NestedRowsSerializer):
        return row_plan(type(field.child)) is not None
    if not _same(field, drf_fields.Field, "get_attribute"):
        return False
    child = field.child if isinstance(field, serializers.ListSerializer) else field
    if (
        not isinstance(child, FastRepresentationMixin)
        or not child.fast_representation
        or not isinstance(child, serializers.Serializer)
    ):
        return False
    if isinstance(field, serializers.ListSerializer) and not _same(
        field, serializers.ListSerializer, "to_representation"
    ):
        return False
    if type(child) not in _plans:
        _plans[type(child)] = build_plan(child)
    return context_free(type(child))


def row_plan(serializer_class) -> list[tuple] | None:
    """How a row from ``values()`` becomes what ``serializer_class`` gives for the same row as a model instance, or
    None when it cannot: ``(name, column, converter, related)`` per field.

    Every field must read one column of its row (its plan entry is ``FAST``; ``related`` is None), or be a
    context-free nested serializer of a row joined by a forward foreign key whose own fields all read one column
    (``related`` is then that serializer's ``(name, column, converter)`` list, the columns prefixed with the key's
    name, ``asset__user_id``; ``column`` is the key's own column: None there means no related row, shown as None).
    """
    if serializer_class not in _row_plans:
        plan = _plans.get(serializer_class)
        if plan is None:
            plan = _plans[serializer_class] = build_plan(serializer_class())
        model = serializer_class.Meta.model
        rows = [] if _represents_by_plan(serializer_class) else None
        for kind, name, getter, convert, column in plan if rows is not None else ():
            if kind is FAST:
                rows.append((name, column, convert, None))
                continue
            joined = _joined_row(model, getter) if kind is PROTOTYPE else None
            if joined is None:
                rows = None
                break
            rows.append((name, *joined))
        _row_plans[serializer_class] = rows
    return _row_plans[serializer_class]


def _represents_by_plan(serializer_class) -> bool:
    """Whether ``serializer_class`` (and a list of it) represents an instance exactly by its plan: nothing of
    ``FastRepresentationMixin``'s way overridden, no list serializer of its own."""
    return (
        issubclass(serializer_class, FastRepresentationMixin)
        and serializer_class.fast_representation
        and serializer_class.to_representation is FastRepresentationMixin.to_representation
        and serializer_class.represent is FastRepresentationMixin.represent
        and not hasattr(getattr(serializer_class, "Meta", None), "list_serializer_class")
    )


def _joined_row(model, field):
    """``(key column, None, prefixed plan)`` for a nested serializer ``field`` of the row its forward foreign key
    joins, when that serializer's fields each read one column of it; None otherwise."""
    if isinstance(field, serializers.ListSerializer) or len(field.source_attrs) != 1:
        return None
    model_field = _concrete_field(model, field.source_attrs[0])
    if model_field is None or not (model_field.many_to_one or model_field.one_to_one):
        return None
    if getattr(getattr(field, "Meta", None), "model", None) is not model_field.related_model:
        return None
    related = row_plan(type(field))
    if related is None or any(entry[3] is not None for entry in related):
        return None  # one join deep: a nested row's own nested rows are not read as rows
    prefix = f"{model_field.name}__"
    return model_field.attname, None, [(name, prefix + column, convert) for name, column, convert, _ in related]


_row_plans: dict[type, list | None] = {}


class NestedRowsSerializer(serializers.ListSerializer):
    """A read-only nested list of ``child`` rows, read as values: one query and no model instances.

    ``rows(pk)`` gives the queryset of the rows of the instance whose primary key is ``pk`` (a named read of the
    child's queryset, e.g. ``Clip.objects.of_asset(pk)``). When ``child`` has a ``row_plan`` (every field a plain
    column, or a row joined by a foreign key) the rows are read with ``values()`` of exactly those columns, that
    query's SQL compiled once (``gateway.db.compiled``: only the key changes from one instance to the next), and
    converted as the child's plan converts them, which is what DRF gives for the same rows as model instances
    (gateway/tests/test_fast_paths.py compares them); otherwise the rows are model instances represented by the
    child as usual. The schema is the child's, as a list.
    """

    def __init__(self, *args, rows, **kwargs):
        self.rows = rows
        kwargs["read_only"] = True
        super().__init__(*args, **kwargs)

    def get_attribute(self, instance):
        if (read := compiled_rows(type(self.child), self.rows)) is not None:
            return read(pk=instance.pk)
        return self.rows(instance.pk)

    def to_representation(self, data):
        plan = row_plan(type(self.child))
        if plan is None:
            return super().to_representation(data)
        if isinstance(data, models.QuerySet):
            data = row_values(plan, data)
        return represent_rows(plan, data)


_compiled_rows: dict[tuple, CompiledQuery | None] = {}


def compiled_rows(serializer_class, rows) -> CompiledQuery | None:
    """``rows(pk)`` read as ``row_values`` of ``serializer_class``'s row plan, compiled once (``None``: no plan)."""
    key = (serializer_class, rows)
    if key not in _compiled_rows:
        plan = row_plan(serializer_class)
        _compiled_rows[key] = None if plan is None else CompiledQuery(lambda pk: row_values(plan, rows(pk)))
    return _compiled_rows[key]


def represent_queryset(serializer_class, queryset, *, context=None) -> list[dict]:
    """``serializer_class(queryset, many=True, context=context).data``, read as rows from ``values()`` (one query
    of the serialized columns, no model instances) when the class has a ``row_plan``."""
    plan = row_plan(serializer_class)
    if plan is None:
        return serializer_class(queryset, many=True, context=context).data
    return represent_rows(plan, row_values(plan, queryset))


def row_values(plan, queryset, *extra_columns):
    """``queryset`` as dicts of a ``row_plan``'s columns (and ``extra_columns``): ``values()``, nothing prefetched."""
    columns = {}  # in order, once each: a key read as a field of its own is also its joined row's presence
    for _, column, _, related in plan:
        columns[column] = None
        columns.update(dict.fromkeys(related_column for _, related_column, _ in related or ()))
    columns.update(dict.fromkeys(extra_columns))
    return queryset.prefetch_related(None).values(*columns)


def represent_rows(plan, rows) -> list[dict]:
    """``rows`` (dicts from ``values()``) converted through a ``row_plan``, in the current time zone."""
    return in_current_zone(_represent_rows, plan, rows)


def _represent_rows(plan, rows) -> list[dict]:
    if all(related is None for *_, related in plan):
        return [
            {name: None if row[column] is None else convert(row[column]) for name, column, convert, _ in plan}
            for row in rows
        ]
    represented = []
    for row in rows:
        item = {}
        for name, column, convert, related in plan:
            value = row[column]
            if value is None:
                item[name] = None
            elif related is None:
                item[name] = convert(value)
            else:
                item[name] = {key: None if row[at] is None else to(row[at]) for key, at, to in related}
        represented.append(item)
    return represented


def in_current_zone(represent, *args):
    """``represent(*args)`` with the current time zone pinned for it (``_zone``), unless a caller pinned it already."""
    if _zone.get() is not None:
        return represent(*args)
    token = _zone.set(get_current_timezone())
    try:
        return represent(*args)
    finally:
        _zone.reset(token)
