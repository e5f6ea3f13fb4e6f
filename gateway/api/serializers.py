"""The base of the project's model serializers."""

from rest_framework import serializers

from gateway.api import strict
from gateway.api.representation import FastRepresentationMixin
from gateway.services import model_update


class ModelSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """DRF's ``ModelSerializer`` with strict JSON types, fast reads, and an ``update`` that writes only what was sent.

    - Model fields are built from the strict fields of ``gateway.api.strict`` (a JSON body must send the
      JSON type the schema documents); fields declared on a subclass use those classes too.
    - Rows are represented through ``FastRepresentationMixin``; a serializer whose readable fields change
      from one request to another sets ``fast_representation = False``.
    - ``update`` writes only the fields the client sent, under the row's lock. DRF's own ``update`` saves
      every column of the instance it read, so a concurrent change of another column (a status, a counter,
      ``deleted_at``) would be written back over. Serializers whose model has rules on an update (status
      transitions, derived values) override ``update`` with their app's service.
    - ``validate`` checks the ``ranges`` (``gateway.api.fields.Range``: one field must not pass another) and
      what ``check_row`` adds, and reports every problem of the body together.
    """

    serializer_field_mapping = strict.strict_mapping(serializers.ModelSerializer.serializer_field_mapping)
    ranges: tuple = ()

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
