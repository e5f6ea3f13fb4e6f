"""The base of the project's model serializers."""

from rest_framework import serializers

from gateway.services import model_update


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ``ModelSerializer`` whose ``update`` writes only the fields the client sent, under the row's lock.

    DRF's own ``update`` saves every column of the instance it read, so a concurrent change of another
    column (a status, a counter, ``deleted_at``) would be written back over. Serializers whose model has
    rules on an update (status transitions, derived values) override ``update`` with their app's service.
    """

    def update(self, instance, validated_data):
        return model_update(instance=instance, fields=validated_data)
