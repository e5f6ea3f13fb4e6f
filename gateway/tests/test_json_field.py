"""``gateway.models.JSONField``: every JSON column reads its values with orjson, exactly as Django's would."""

import json
import math

import pytest
from django.db import connection, models

from gateway.models import JSONField
from media.factories import ClipFactory
from media.models import Clip

TEXTS = [
    '{"faces": 0, "motion": 0.5823075899771916}',
    '[1, 2.5, -0.0, 1E2, 5e-324, 1e-400, true, false, null, "é😀", {"a": []}]',
    '"plain"',
    "123456789012345678",  # the widest an int64 surely is: orjson's own
    "123456789012345678901234567890",  # past 64 bits: orjson would make it a float
    "-9223372036854775809",
    "18446744073709551616",
    '{"id": 12345678901234567890123}',
    "1e400",  # past a double: orjson refuses it, json.loads makes it infinity
    "-1e400",
]


@pytest.mark.parametrize("text", TEXTS)
def test_reads_each_text_as_json_loads_does(text):
    read, expected = JSONField().from_db_value(text, None, connection), json.loads(text)
    assert read == expected or (math.isnan(read) and math.isnan(expected))
    assert repr(read) == repr(expected)  # the same types all the way down (an int stays an int)


def test_a_field_with_a_decoder_keeps_it():
    class Decoder(json.JSONDecoder):
        def __init__(self, **kwargs):
            super().__init__(parse_float=str, **kwargs)

    assert JSONField(decoder=Decoder).from_db_value('{"a": 0.1}', None, connection) == {"a": "0.1"}


def test_every_json_column_the_project_declares_is_read_so():
    """The event tables' copies included; pghistory's own bookkeeping (``pgh_context``) is the library's."""
    from django.apps import apps

    plain = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in {"users", "media", "campaigns", "knowledge", "gateway"}
        for field in model._meta.concrete_fields
        if isinstance(field, models.JSONField)
        and not isinstance(field, JSONField)
        and not field.name.startswith("pgh_")
    ]
    assert plain == []


@pytest.mark.django_db
def test_values_round_trip_through_the_database():
    features = {"big": 123456789012345678901234567890, "small": -3, "ratio": 0.1, "text": "é😀", "list": [None, {}]}
    clip = ClipFactory(features=features)
    assert Clip.objects.get(pk=clip.pk).features == features
    assert Clip.objects.values_list("features", flat=True).get(pk=clip.pk) == features
    assert type(Clip.objects.get(pk=clip.pk).features["big"]) is int
