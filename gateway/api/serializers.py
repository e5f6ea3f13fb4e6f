"""The bases of the project's serializers: every field sent must be one the serializer takes."""

import copy
import difflib
from collections.abc import Mapping

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import HiddenField

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
        writable = [
            name for name, field in fields.items() if not field.read_only and not isinstance(field, HiddenField)
        ]
        return {
            key: [unknown_field_message(str(key), writable)]
            for key in data
            if key not in fields or isinstance(fields[key], HiddenField)
        }

    def repeated_parameter_errors(self, data: QueryDict) -> dict:
        """``{name: [message]}`` for each single-valued field given more than once in the query string."""
        return {
            name: [REPEATED_PARAMETER]
            for name, field in self.fields.items()
            if not isinstance(field, serializers.ListField | serializers.MultipleChoiceField)
            and len(data.getlist(name)) > 1
        }


def unknown_field_message(key: str, known) -> str:
    """``"Unknown field."``, followed by the closest of ``known`` names when one is close enough."""
    closest = difflib.get_close_matches(key, sorted(known), n=1)
    return f'{UNKNOWN_FIELD} Did you mean "{closest[0]}"?' if closest else UNKNOWN_FIELD


class Serializer(StrictInputMixin, serializers.Serializer):
    """DRF's ``Serializer`` refusing unknown fields and repeated parameters (:class:`StrictInputMixin`).

    The base of every input serializer of the API (action bodies, ingest batches and their items, query
    strings); declare its fields from ``gateway.api.strict``.
    """


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
        gets a deep copy of it (as DRF itself hands out its declared fields: a field's copy is a new field made
        from the same arguments), which a serializer may change as it likes. A class overriding one of
        ``FIELD_BUILDING_HOOKS`` (they may read the instance or the context) gets DRF's fields each time.
        """
        cls = type(self)
        if any(getattr(cls, hook) is not getattr(ModelSerializer, hook) for hook in FIELD_BUILDING_HOOKS):
            return super().get_fields()
        built = cls.__dict__.get("_built_fields")  # the class's own: a subclass has fields of its own
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return copy.deepcopy(built)

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
