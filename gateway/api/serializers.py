"""The bases of the project's serializers: every field sent must be one the serializer takes."""

import copy
import decimal
import difflib
import functools
import types
from collections.abc import Callable, Mapping

from django.http import QueryDict
from django.utils.functional import Promise
from rest_framework import serializers
from rest_framework.fields import Field, HiddenField

from gateway.api import strict
from gateway.api.representation import FastRepresentationMixin
from gateway.services import model_update

UNKNOWN_FIELD = "Unknown field."
# A context key: build the serializer as the body of an update (``Meta.create_only_fields`` read-only) without a
# row at hand; the schema's ``PUT``/``PATCH`` bodies are built this way (gateway/api/schema.py).
UPDATE_BODY = "update_body"
REPEATED_PARAMETER = "Given more than once; this parameter takes one value."
# The methods DRF's ``ModelSerializer.get_fields`` builds a class's fields with. What they answer depends on the
# class alone (its ``Meta``, its declared fields, the model) unless a subclass overrides one of them: such a class
# builds its fields per serializer, as DRF does (see ``ModelSerializer.model_fields``).
FIELD_BUILDING_HOOKS = (
    "get_field_names",
    "get_default_field_names",
    "get_extra_kwargs",
    "get_uniqueness_extra_kwargs",
    "include_extra_kwargs",
    "build_field",
    "build_standard_field",
    "build_relational_field",
    "build_nested_field",
    "build_property_field",
    "build_url_field",
    "build_unknown_field",
)
# Where the validator classes a field's copy may share come from: Django's, DRF's and the project's.
VALIDATOR_MODULES = ("django.core.validators", "rest_framework.validators", "gateway.api.fields")
# A field's record of its constructor's arguments (``Field.__new__``), read only to build it again (``__deepcopy__``)
# and to show it (``__repr__``): a copy shares it.
CONSTRUCTOR_ARGUMENTS = ("_args", "_kwargs")
# What a field's copy may share with the field it copies (``field_copier``): values nothing changes in place.
SHARED_VALUES = (
    type(None),
    bool,
    int,
    float,
    str,
    decimal.Decimal,
    Promise,  # a lazy translation: a string once read
    type,  # a model, DRF's ``empty``
    types.FunctionType,
)


class StrictInputMixin:
    """Mixed in before a DRF serializer: nothing a client sends is silently dropped or misread.

    - In a JSON body, a key that is no field of the serializer is a 400 naming it: ``"Unknown field."``,
      with the closest writable field's name when there is one (``Did you mean "total_spend"?``). DRF would
      ignore it, so a misspelt field would be lost without a word. The errors come together with the
      fields' own. Read-only fields (``id``, ``created_at``) are still ignored, as DRF does, so a body
      read from the API can be sent back.
    - In a query string (the serializer reads ``request.query_params``), a parameter given more than once
      for a field that takes one value is a 400 naming it: DRF would read the last value only. Other
      parameters are not the serializer's business (``format``, a filter of another component).
    """

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            errors = self.repeated_parameter_errors(data)
        elif isinstance(data, Mapping):
            errors = self.unknown_field_errors(data)
        else:
            errors = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if errors and isinstance(error.detail, Mapping):
                raise serializers.ValidationError({**error.detail, **errors}) from None
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def unknown_field_errors(self, data: Mapping) -> dict:
        """``{key: [message]}`` for each key of ``data`` that is no field of the serializer.

        Read-only fields are known: a body read from the API can be sent back, its read-only values ignored.
        """
        fields = self.fields
        unknown = [key for key in data if key not in fields or isinstance(fields[key], HiddenField)]
        if not unknown:  # the usual body: no list of writable fields to make
            return {}
        writable = [
            name for name, field in fields.items() if not field.read_only and not isinstance(field, HiddenField)
        ]
        return {key: [unknown_field_message(str(key), writable)] for key in unknown}

    def repeated_parameter_errors(self, data: QueryDict) -> dict:
        """``{name: [message]}`` for each single-valued field given more than once in the query string."""
        repeated = {name for name, values in data.lists() if len(values) > 1}
        if not repeated:  # the usual query string: no field to look at
            return {}
        return {
            name: [REPEATED_PARAMETER]
            for name, field in self.fields.items()
            if name in repeated and not isinstance(field, serializers.ListField | serializers.MultipleChoiceField)
        }


def fields_of_class(cls: type, build: Callable[[], dict]) -> dict:
    """New, unbound copies of the fields ``build()`` answers for serializer class ``cls``: ``build`` runs for the
    class's first serializer, and each serializer after gets copies of what it built (``field_copier``)."""
    copiers = cls.__dict__.get("_field_copiers")  # the class's own: a subclass has fields of its own
    if copiers is None:
        copiers = {name: field_copier(field) for name, field in build().items()}
        cls._field_copiers = copiers
    return {name: copy_field() for name, copy_field in copiers.items()}


def field_copier(field: Field) -> Callable[[], Field]:
    """A function making copies of ``field`` (new and unbound as it is, as ``copy.deepcopy`` makes them).

    DRF copies a field by building it again from its arguments, deep-copied (``Field.__deepcopy__``): about a tenth
    of a create's CPU for a model's twenty fields. A field whose state is plain values, and lists and dicts of
    them, is copied attribute by attribute instead, each list and dict copied too, so that a serializer changing
    its copy (``validators.clear()``, ``read_only = True``) changes nothing else. A field holding anything else
    (another field, a serializer, a queryset, a model field, an object as its default) is deep-copied as DRF does.
    Validators are shared, as DRF's copies share the ones a field is given, and so is the record of the field's
    arguments (``CONSTRUCTOR_ARGUMENTS``).
    """
    state = vars(field)
    own = {name: value for name, value in state.items() if name not in CONSTRUCTOR_ARGUMENTS}
    containers = tuple(name for name, value in own.items() if type(value) in (list, dict))
    flat = not isinstance(field, serializers.BaseSerializer) and all(
        shareable(item)
        for value in own.values()
        for item in (value.values() if type(value) is dict else value if type(value) is list else (value,))
    )
    if not flat:
        return functools.partial(copy.deepcopy, field)
    cls = type(field)

    def copy_field() -> Field:
        clone = object.__new__(cls)
        clone.__dict__.update(state)
        for name in containers:
            clone.__dict__[name] = state[name].copy()
        return clone

    return copy_field


def shareable(value) -> bool:
    """Whether a field's copy may share ``value`` with it: a plain value, or a validator (a function, or an object
    of Django's, DRF's or the project's validators, ``VALIDATOR_MODULES``, that is called and never changed)."""
    if isinstance(value, SHARED_VALUES):
        return True
    if isinstance(value, tuple):
        return all(shareable(item) for item in value)
    return callable(value) and not isinstance(value, Field) and type(value).__module__.startswith(VALIDATOR_MODULES)


def unknown_field_message(key: str, known) -> str:
    """``"Unknown field."``, followed by the closest of ``known`` names when one is close enough."""
    closest = difflib.get_close_matches(key, sorted(known), n=1)
    return f'{UNKNOWN_FIELD} Did you mean "{closest[0]}"?' if closest else UNKNOWN_FIELD


class Serializer(StrictInputMixin, serializers.Serializer):
    """DRF's ``Serializer`` refusing unknown fields and repeated parameters (:class:`StrictInputMixin`).

    The base of every input serializer of the API (action bodies, ingest batches and their items, query
    strings); declare its fields from ``gateway.api.strict``.
    """

    def get_fields(self):
        # DRF's (a deep copy of the declared fields) once per class, then copies of those (``fields_of_class``).
        return fields_of_class(type(self), super().get_fields)


class ModelSerializer(StrictInputMixin, FastRepresentationMixin, serializers.ModelSerializer):
    """DRF's ``ModelSerializer`` with strict JSON types, fast reads, and an ``update`` that writes only what was sent.

    - Model fields are built from the strict fields of ``gateway.api.strict`` (a JSON body must send the
      JSON type the schema documents); fields declared on a subclass use those classes too.
    - A body's unknown keys are a 400 naming them (:class:`StrictInputMixin`).
    - Rows are represented through ``FastRepresentationMixin``; a serializer whose readable fields change
      from one request to another sets ``fast_representation = False``.
    - ``update`` writes only the fields the client sent, under the row's lock. DRF's own ``update`` saves
      every column of the instance it read, so a concurrent change of another column (a status, a counter,
      ``deleted_at``) would be written back over. Serializers whose model has rules on an update (status
      transitions, derived values) override ``update`` with their app's service.
    - ``Meta.create_only_fields`` are set by a create and read-only once the row exists (an update ignores
      them, as it ignores ``id``: a body read from the API can be sent back). The schema documents an update's
      body without them, as ``<Name>UpdateRequest``.
    - ``validate`` checks the ``ranges`` (``gateway.api.fields.Range``: one field must not pass another) and
      what ``check_row`` adds, and reports every problem of the body together.
    - The fields DRF builds from the model are built once per class and copied for each serializer
      (``model_fields``).
    """

    serializer_field_mapping = strict.strict_mapping(serializers.ModelSerializer.serializer_field_mapping)
    ranges: tuple = ()

    def get_fields(self):
        fields = self.model_fields()
        if self.instance is not None or self.context.get(UPDATE_BODY):
            for name in getattr(self.Meta, "create_only_fields", ()):
                if name in fields:
                    fields[name].read_only = True
        return fields

    def model_fields(self) -> dict:
        """DRF's ``ModelSerializer.get_fields()``: new, unbound fields for this serializer.

        DRF builds them from the model's metadata for every serializer, a fifth of a create's CPU; the answer
        depends on the class alone, so the first serializer of a class keeps what DRF built and each one after
        gets copies of it (``fields_of_class``: fields of its own, as DRF's, which it may change as it likes). A
        class overriding one of ``FIELD_BUILDING_HOOKS`` (they may read the instance or the context) gets DRF's
        fields each time.
        """
        cls = type(self)
        if any(getattr(cls, hook) is not getattr(ModelSerializer, hook) for hook in FIELD_BUILDING_HOOKS):
            return super().get_fields()
        return fields_of_class(cls, super().get_fields)

    def validate(self, attrs):
        errors = {}
        for rule in self.ranges:
            rule.check(errors, attrs, self.instance)
        self.check_row(errors, attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def check_row(self, errors: dict, attrs: dict) -> None:
        """Add to ``errors`` (field name -> messages) what else is wrong with the row ``attrs`` would make."""

    def update(self, instance, validated_data):
        return model_update(instance=instance, fields=validated_data)
