"""Strict JSON types come from field classes the serializers declare, not from a patch of DRF.

The rules themselves (which JSON types each field takes, in bodies and query strings) are tested end to end in
test_bad_input.py and test_limits.py; here: every writable field of the apps' serializers is a strict one,
every model serializer derives from the project's base, DRF's own classes are left as they are, and the
serializers that became fast with the base represent rows exactly as DRF does.
"""

import types

import pytest
from django.db import models
from django.http import QueryDict
from django.urls import get_resolver
from rest_framework import fields, serializers

from gateway.api import strict
from gateway.api.serializers import CONSTRUCTOR_ARGUMENTS, REPEATED_PARAMETER, ModelSerializer, Serializer
from gateway.tests.test_fast_paths import assert_identical, drf_representation
from knowledge.api.search_serializers import KnowledgeDocumentVersionSerializer
from knowledge.api.serializers import KnowledgeDocumentSerializer
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.services import knowledge_document_update
from media.api.serializers import ClipScoresSerializer, ClipSerializer
from media.factories import ClipFactory
from users.api.serializers import ApiKeySerializer, MeSerializer, UserSerializer
from users.factories import ApiKeyFactory, UserFactory

APPS = ("users", "media", "campaigns", "knowledge")
LENIENT = tuple(strict.STRICT_FIELDS)


def app_serializers() -> list[type]:
    """Every serializer class the apps define (the URLconf imports them all)."""
    get_resolver().url_patterns  # noqa: B018 - loads every view, so every serializer module
    found, pending = [], [serializers.BaseSerializer]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.partition(".")[0] in APPS and ".tests" not in cls.__module__:
            found.append(cls)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


SERIALIZERS = app_serializers()


def lenient_fields(serializer) -> list[str]:
    """The writable fields of ``serializer`` (list children and related ids included) that are DRF's lenient ones."""
    found = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        for part, value in (
            ("", field),
            (".child", getattr(field, "child", None)),
            (".pk", getattr(field, "pk_field", None)),
        ):
            if isinstance(value, LENIENT) and not isinstance(value, strict.StrictField):
                found.append(f"{name}{part}: {type(value).__name__}")
    return found


def test_the_apps_serializers_are_found():
    names = {cls.__name__ for cls in SERIALIZERS}
    assert {"UserSerializer", "AssetSerializer", "CampaignMetricsSerializer", "KnowledgeSearchSerializer"} <= names


@pytest.mark.parametrize("serializer_class", SERIALIZERS, ids=[cls.__name__ for cls in SERIALIZERS])
def test_every_writable_field_is_strict(serializer_class):
    assert lenient_fields(serializer_class()) == []


@pytest.mark.parametrize("serializer_class", SERIALIZERS, ids=[cls.__name__ for cls in SERIALIZERS])
def test_every_model_serializer_derives_from_the_projects_base(serializer_class):
    if issubclass(serializer_class, serializers.ModelSerializer):
        assert issubclass(serializer_class, ModelSerializer)


def test_model_fields_are_built_strict():
    mapping = ModelSerializer.serializer_field_mapping
    assert not set(mapping.values()) & set(LENIENT)
    assert set(mapping) == set(serializers.ModelSerializer.serializer_field_mapping)


def test_drfs_own_fields_stay_lenient():
    assert fields.CharField().run_validation(12) == "12"
    assert fields.IntegerField().run_validation("3") == 3
    assert fields.BooleanField().run_validation("yes") is True
    assert "to_internal_value" not in vars(strict.CharField)


class Body(serializers.Serializer):
    text = strict.CharField(max_length=3, required=False)
    number = strict.IntegerField(required=False)
    ratio = strict.FloatField(required=False)
    amount = strict.DecimalField(max_digits=5, decimal_places=2, required=False)
    flag = strict.BooleanField(required=False)
    id = strict.UUIDField(required=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", 12),
        ("text", " ab "),
        ("number", "3"),
        ("number", True),
        ("ratio", "0.5"),
        ("ratio", True),
        ("amount", 1.5),
        ("amount", "+5"),
        ("amount", "1e3"),
        ("flag", 1),
        ("flag", "yes"),
        ("id", 12),
    ],
)
def test_a_json_body_of_another_type_is_refused(field, value):
    serializer = Body(data={field: value})
    assert not serializer.is_valid()
    assert list(serializer.errors) == [field]


def test_a_json_body_of_the_documented_types_is_taken():
    data = {"text": "ab", "number": 3.0, "ratio": 1, "amount": "-1.5", "flag": False, "id": "0" * 32}
    serializer = Body(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["number"] == 3


def test_a_query_string_keeps_drfs_parsing():
    serializer = Body(data=QueryDict("text=ab&number=3&ratio=0.5&amount=1.5&flag=yes"))
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["flag"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("serializer_class", "rows"),
    [
        (UserSerializer, lambda: [UserFactory(), UserFactory(name="", settings={"theme": "dark"})]),
        (MeSerializer, lambda: [UserFactory()]),
        (ApiKeySerializer, lambda: [ApiKeyFactory(), ApiKeyFactory(expires_at=None)]),
        (KnowledgeDocumentSerializer, lambda: [KnowledgeDocumentFactory(), KnowledgeDocumentFactory(tags=[])]),
        (
            KnowledgeDocumentVersionSerializer,
            lambda: [
                knowledge_document_update(document=KnowledgeDocumentFactory(), user=None, content="new").versions.get()
            ],
        ),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_serializers_made_fast_by_the_base_represent_as_drf(serializer_class, rows):
    instances = rows()
    reference = drf_representation(serializer_class, instances)
    assert_identical(serializer_class(instances, many=True).data, reference)


def field_state(value, depth: int = 0):
    """``value`` (a field, or anything a field holds) as plain data, so that two fields built apart compare equal
    when they hold the same: objects by their class and attributes (a field's ``parent`` and creation counter
    left out), functions by their name, Django's model fields and querysets by their class and text, whatever keeps
    no ``__dict__`` by its class and text (DRF's lazily formatted messages)."""
    if depth > 16:
        raise AssertionError(f"a field holds objects nested deeper than expected: {value!r}")
    if isinstance(value, list | tuple):
        return [field_state(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: field_state(item, depth + 1) for key, item in value.items()}
    if isinstance(value, models.Field | models.QuerySet):
        return (type(value), str(value))
    if isinstance(value, types.FunctionType):  # a closure made for each field (a lazily compiled pattern's)
        return (value.__module__, value.__qualname__)
    if hasattr(value, "__dict__") and not isinstance(value, type | types.MethodType):
        return (
            type(value),
            {
                key: field_state(item, depth + 1)
                for key, item in vars(value).items()
                if key not in ("parent", "_creation_counter")
            },
        )
    if hasattr(value, "__slots__") and not hasattr(value, "__dict__"):
        return (type(value), str(value))
    return value


# The apps' serializers whose fields the project's bases copy (the others are DRF's own output serializers).
COPYING = [cls for cls in SERIALIZERS if issubclass(cls, ModelSerializer | Serializer)]


def base_and_drf_fields(serializer) -> tuple[dict, dict]:
    """The fields the project's base class gives ``serializer`` (before a subclass's own ``get_fields`` changes
    them) and the ones DRF's class would give it."""
    if isinstance(serializer, ModelSerializer):
        return serializer.model_fields(), serializers.ModelSerializer.get_fields(serializer)
    return Serializer.get_fields(serializer), serializers.Serializer.get_fields(serializer)


def test_the_serializers_the_bases_copy_the_fields_of_are_found():
    names = {cls.__name__ for cls in COPYING}
    assert {"ClipSerializer", "ClipScoresSerializer", "TopClipsQuerySerializer", "KnowledgeDocumentSerializer"} <= names
    assert any(issubclass(cls, Serializer) and not issubclass(cls, ModelSerializer) for cls in COPYING)


class TestFieldsBuiltOncePerClass:
    """``ModelSerializer.model_fields`` and ``Serializer.get_fields``: a class's fields built once (a model
    serializer's by DRF, a serializer's declared ones copied by DRF), each serializer getting copies of them
    (``fields_of_class``)."""

    @pytest.mark.django_db  # a related field's queryset is read by its text
    @pytest.mark.parametrize("serializer_class", COPYING, ids=lambda cls: cls.__name__)
    def test_every_serializer_gets_fields_holding_what_drfs_hold(self, serializer_class):
        serializer_class()  # the class's fields are kept by now
        copies, drfs = base_and_drf_fields(serializer_class())
        assert list(copies) == list(drfs)
        assert {name: field_state(field) for name, field in copies.items()} == {
            name: field_state(field) for name, field in drfs.items()
        }

    @pytest.mark.parametrize("serializer_class", COPYING, ids=lambda cls: cls.__name__)
    def test_no_two_serializers_share_what_a_field_may_change(self, serializer_class):
        # A list, a dict or a field held by a field (a list's child, a related field's key field) is each
        # serializer's own; only the record of the field's arguments and plain values are shared.
        first, second = base_and_drf_fields(serializer_class())[0], base_and_drf_fields(serializer_class())[0]
        shared = [
            f"{name}.{key}"
            for name, field in first.items()
            for key, value in vars(field).items()
            if key not in CONSTRUCTOR_ARGUMENTS
            and isinstance(value, list | dict | fields.Field)
            and value is vars(second[name])[key]
            and value is not getattr(type(field), key, None)  # the class's own default (``ListField.initial``)
        ]
        assert shared == []
        assert all(first[name] is not second[name] for name in first)

    def test_a_field_holding_a_field_has_its_own_bound_to_it(self):
        first, second = KnowledgeDocumentSerializer(), KnowledgeDocumentSerializer()
        assert first.fields["tags"].child is not second.fields["tags"].child
        assert first.fields["tags"].child.parent is first.fields["tags"]
        assert second.fields["tags"].child.parent is second.fields["tags"]
        assert first.fields["tags"].root is first

    def test_an_input_serializers_fields_are_its_own(self):
        first, second = ClipScoresSerializer(), ClipScoresSerializer()
        assert first.fields["score"] is not second.fields["score"]
        assert first.fields["score"].parent is first and second.fields["score"].parent is second
        changed = ClipScoresSerializer(data={"score": 2.0})
        changed.fields["score"].validators.clear()
        changed.fields["score"].error_messages["invalid"] = "changed"
        assert changed.is_valid()  # its own field has no range left
        untouched = ClipScoresSerializer(data={"score": 2.0})
        assert not untouched.is_valid() and "score" in untouched.errors
        assert untouched.fields["score"].error_messages["invalid"] != "changed"

    @staticmethod
    def drf_fields(serializer) -> dict:
        """What DRF's own ``get_fields`` builds for ``serializer``, each field by its repr (class and arguments)."""
        return {name: repr(field) for name, field in serializers.ModelSerializer.get_fields(serializer).items()}

    @pytest.mark.django_db  # a related field's repr shows its queryset's rows
    @pytest.mark.parametrize(
        "serializer_class",
        [cls for cls in SERIALIZERS if issubclass(cls, ModelSerializer)],
        ids=lambda cls: cls.__name__,
    )
    def test_every_model_serializer_has_the_fields_drf_builds(self, serializer_class):
        serializer_class()  # the class's fields are built by now
        serializer = serializer_class()
        assert {name: repr(field) for name, field in serializer.get_fields().items()} == self.drf_fields(serializer)

    def test_each_serializer_gets_fields_of_its_own(self):
        first, second = ClipSerializer(), ClipSerializer()
        assert first.fields["score"] is not second.fields["score"]
        first.fields["score"].required = True
        first.fields["rank"].validators.clear()
        third = ClipSerializer()
        assert third.fields["score"].required is False
        limits = [(type(rule), rule.limit_value) for rule in third.fields["rank"].validators]
        assert limits == [(type(rule), rule.limit_value) for rule in second.fields["rank"].validators]
        assert limits != []

    def test_a_row_being_updated_does_not_make_the_next_create_read_only(self):
        clip = ClipFactory.build()
        assert ClipSerializer(clip).fields["asset"].read_only is True
        assert ClipSerializer().fields["asset"].read_only is False
        assert ClipSerializer(clip).fields["asset"].read_only is True

    def test_a_subclass_has_its_own_fields(self):
        class ScoreOnly(ClipSerializer):
            class Meta(ClipSerializer.Meta):
                fields = ["id", "score"]

        assert len(ClipSerializer().fields) > 2
        assert list(ScoreOnly().fields) == ["id", "score"]
        assert "asset" in ClipSerializer().fields

    def test_a_class_building_its_fields_per_serializer_is_built_by_drf_each_time(self):
        class RankFloorPerCaller(ClipSerializer):
            def get_extra_kwargs(self):
                extra_kwargs = super().get_extra_kwargs()
                extra_kwargs["rank"] = {"min_value": self.context.get("rank_floor", 1)}
                return extra_kwargs

        assert RankFloorPerCaller(context={"rank_floor": 5}).fields["rank"].min_value == 5
        assert RankFloorPerCaller().fields["rank"].min_value == 1
        assert "_field_copiers" not in vars(RankFloorPerCaller)


class TestStrictInput:
    """``StrictInputMixin``'s two checks on a serializer of its own: they look at the fields only when a parameter
    is repeated or a key is unknown, and then name exactly those."""

    class Input(Serializer):
        limit = strict.IntegerField(required=False)
        tags = serializers.ListField(child=strict.CharField(), required=False)
        score = strict.FloatField(required=False)

    def test_a_query_string_naming_nothing_twice_is_read_as_usual(self):
        serializer = self.Input(data=QueryDict("limit=3&tags=a&other=x"))
        assert serializer.is_valid(), serializer.errors
        assert serializer.validated_data == {"limit": 3, "tags": ["a"]}

    def test_only_single_valued_fields_given_twice_are_named_in_the_fields_order(self):
        serializer = self.Input(data=QueryDict("score=1&score=2&tags=a&tags=b&other=1&other=2&limit=1&limit=2"))
        assert not serializer.is_valid()
        assert list(serializer.errors.items()) == [("limit", [REPEATED_PARAMETER]), ("score", [REPEATED_PARAMETER])]

    def test_a_body_of_known_keys_is_read_as_usual_and_an_unknown_key_is_named_with_the_closest(self):
        assert self.Input(data={"limit": 3, "score": 0.5}).is_valid()
        serializer = self.Input(data={"limit": 3, "scor": 0.5, "zzz": 1})
        assert not serializer.is_valid()
        assert serializer.errors == {"scor": ['Unknown field. Did you mean "score"?'], "zzz": ["Unknown field."]}
