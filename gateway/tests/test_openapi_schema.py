"""The committed schema (docs/openapi.yaml) is the one the code serves, and it names what clients share."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from gateway.api.schema import WITHOUT_NUL
from gateway.fuzz_rules import TEXT_ITEMS

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


def strings_a_client_sends(served):
    """(where, schema) of every string schema in a request component or a query parameter."""

    def walk(schema, where):
        if isinstance(schema, list):
            for item in schema:
                yield from walk(item, where)
        elif isinstance(schema, dict):
            if schema.get("type") == "string":
                yield where, schema
            for key, value in schema.items():
                yield from walk(value, f"{where}.{key}")

    for name, component in served["components"]["schemas"].items():
        if name.endswith("Request"):
            yield from walk(component, name)
    for path, operations_of_path in served["paths"].items():
        for method, operation in operations_of_path.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] == "query":
                    yield from walk(parameter["schema"], f"{method} {path} ?{parameter['name']}")


def test_no_text_a_client_sends_may_hold_nul_says_the_schema(served):
    texts = [
        (where, schema) for where, schema in strings_a_client_sends(served) if not {"format", "enum"} & set(schema)
    ]
    assert len(texts) > 100
    with_nul = ["a\x00", "\x00", "USD\x00", "1.5\x00", "\x00correct horse"]
    taking_nul = [where for where, schema in texts if any(re.search(schema.get("pattern", ""), t) for t in with_nul)]
    assert taking_nul == []


def test_free_form_json_objects_say_their_texts_hold_no_nul(served):
    metadata = served["components"]["schemas"]["AssetRequest"]["properties"]["metadata"]
    assert metadata["additionalProperties"] is True
    assert "NUL (U+0000)" in metadata["description"]


def test_a_password_is_not_only_digits_says_the_schema(served):
    password = served["components"]["schemas"]["UserRequest"]["properties"]["password"]
    assert (password["minLength"], password["writeOnly"]) == (8, True)
    assert [bool(re.search(password["pattern"], text)) for text in ("12345678", "1234567a", "correct horse")] == [
        False,
        True,
        True,
    ]


def test_the_cursor_parameter_names_the_orderings_a_cursor_takes(operations):
    cursor = next(
        parameter for parameter in operations["conversions_list"]["parameters"] if parameter["name"] == "cursor"
    )
    assert "`ordering` is one of `-timestamp`, `timestamp`" in cursor["description"]


def test_the_performance_range_limits_are_in_the_schema(operations):
    parameters = {parameter["name"]: parameter for parameter in operations["campaigns_performance"]["parameters"]}
    assert "Not before `from`, and the range covers at most 1096 days" in parameters["to"]["description"]


def test_a_reference_in_a_body_says_which_rows_it_may_name(served):
    asset = served["components"]["schemas"]["ClipRequest"]["properties"]["asset"]
    assert asset["format"] == "uuid"
    assert asset["description"].startswith("An existing asset's id: not deleted and yours to use")


def test_a_write_s_400_names_the_rules_the_schema_cannot_state(operations):
    description = operations["clips_create"]["responses"]["400"]["description"]
    for rule in ("a reference to a row that does not exist", "a value another row already holds", "status change"):
        assert rule in description
    assert operations["clips_list"]["responses"]["400"]["description"] == (
        "Invalid input: field errors (a query parameter, named)."
    )


def test_an_answer_that_is_a_queued_job_links_to_the_job(served):
    queued = [
        (path, method, status)
        for path, operations in served["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        for status, response in operation["responses"].items()
        if response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        == "#/components/schemas/Job"
    ]
    assert ("/api/v1/experiments/{id}/evaluate/", "post", "202") in queued
    for path, method, status in queued:
        link = served["paths"][path][method]["responses"][status]["links"]["jobs_retrieve"]
        assert link["parameters"] == {"id": "$response.body#/id"}
    assert "/api/v1/jobs/{id}/" in served["paths"]


def test_a_create_links_to_every_operation_on_the_row_it_created(served):
    links = served["paths"]["/api/v1/clips/"]["post"]["responses"]["201"]["links"]
    assert set(links) == {
        operation["operationId"]
        for path, operations in served["paths"].items()
        if path.startswith("/api/v1/clips/{id}/")
        for operation in operations.values()
        if isinstance(operation, dict)
    }
    assert links["clips_score"]["parameters"] == {"id": "$response.body#/id"}


@pytest.mark.parametrize(
    ("component", "set_at_creation"),
    [("PredictionUpdateRequest", "clip"), ("ClipUpdateRequest", "asset"), ("ExperimentUpdateRequest", "campaign")],
)
def test_an_update_body_leaves_out_what_is_set_at_creation(served, component, set_at_creation):
    schemas = served["components"]["schemas"]
    create = schemas[component.replace("Update", "")]["properties"]
    for name in (component, f"Patched{component}"):
        assert set(schemas[name]["properties"]) == set(create) - {set_at_creation}


def test_the_fuzz_judge_reads_text_lists_as_the_schema_writes_them(served):
    # gateway/fuzz_rules.py cannot import the schema module (it runs without Django): the same pattern, twice.
    tags = next(p for p in served["paths"]["/api/v1/knowledge-documents/"]["get"]["parameters"] if p["name"] == "tags")
    assert tags["schema"]["items"] == {"type": "string", "pattern": WITHOUT_NUL}
    assert tags["schema"]["items"] in TEXT_ITEMS
