"""The committed schema (docs/openapi.yaml) is the one the code serves, and it names what clients share."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def served():
    """The schema ``GET /api/schema/`` serves, read back from its YAML as a client reads it."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return yaml.safe_load(OpenApiYamlRenderer().render(schema, renderer_context={}))


@pytest.fixture(scope="module")
def operations(served):
    return {
        operation["operationId"]: operation
        for path in served["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
    }


def test_committed_schema_is_the_served_schema(served):
    committed = yaml.safe_load(COMMITTED.read_text())
    assert committed == served, "docs/openapi.yaml differs from the code's schema: run `make schema` and commit it"


def test_actions_are_named_by_what_they_do(operations):
    for name in ("clips_score", "api_keys_revoke", "knowledge_documents_search", "clips_top", "conversions_ingest"):
        assert name in operations


def test_an_action_with_one_method_has_no_method_suffix(served):
    suffixed = [
        operation["operationId"]
        for path, item in served["paths"].items()
        if not re.fullmatch(r"/api/v1/[^/]+/(\{id\}/)?", path)
        for operation in [value for value in item.values() if isinstance(value, dict)]
        if len(item) == 1 and operation["operationId"].endswith(("_create", "_list", "_retrieve"))
    ]
    assert suffixed == []


def test_every_400_body_is_the_one_field_errors_component(operations):
    bodies = {
        str(operation["responses"]["400"]["content"]["application/json"]["schema"])
        for operation in operations.values()
        if "400" in operation["responses"]
    }
    assert bodies == {str({"$ref": "#/components/schemas/FieldErrors"})}


def test_every_other_error_body_is_the_one_error_component(operations):
    bodies = {
        str(response["content"]["application/json"]["schema"])
        for operation in operations.values()
        for code, response in operation["responses"].items()
        if code[0] in "45" and code != "400" and "content" in response
    }
    assert bodies == {str({"$ref": "#/components/schemas/Error"})}


def test_every_answer_but_no_content_has_a_body(operations):
    bodiless = [
        (name, code)
        for name, operation in operations.items()
        for code, response in operation["responses"].items()
        if "content" not in response and code not in ("204", "304")
    ]
    assert bodiless == []


def test_status_filters_share_the_models_enum_component(operations):
    parameters = {parameter["name"]: parameter for parameter in operations["clips_list"]["parameters"]}
    assert parameters["status"]["schema"] == {"$ref": "#/components/schemas/ClipStatusEnum"}
    assert parameters["status__in"]["schema"]["items"] == {"$ref": "#/components/schemas/ClipStatusEnum"}


def test_ordering_members_are_named_for_their_field_and_direction(served):
    ordering = served["components"]["schemas"]["ClipsListOrdering"]
    names = dict(zip(ordering["enum"], ordering["x-enum-varnames"], strict=True))
    assert names["score"] == "SCORE"
    assert names["-score"] == "SCORE_DESC"
    assert names["-created_at"] == "CREATED_AT_DESC"
