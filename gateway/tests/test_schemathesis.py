"""Schemathesis against the API's own OpenAPI schema: every operation, every default check, zero failures.

The schema is loaded from ``/api/schema/`` of the WSGI application, in process, and every operation is
fuzzed four times over: as an ADMIN, as a USER (who owns the rows the ids point at), without a key and
with a key that was never issued. Runs use a fixed seed (``SCHEMATHESIS_SEED=random`` draws a new one),
printed at the start (``schemathesis seed: ...``) and with any failure; ``SCHEMATHESIS_SEED=<seed>`` replays a run, and
``SCHEMATHESIS_MAX_EXAMPLES`` (default 12) sets the fuzzing phase's examples per operation. Schemathesis's
coverage phase (boundary values, wrong types, missing parameters, unexpected methods) runs for the ADMIN;
the stateful phase does not run under pytest. About 2-2.5 minutes on 2 cores.

Every default check is on. Two are narrowed, each where it cannot hold, by the rules of
``gateway/fuzz_rules.py`` (shared with ``make fuzz``, the CLI against the live server, so both runs let
through the same answers; the module says why each holds):

- ``positive_data_acceptance`` (schema-valid data must not be a 400) does not hold for rules JSON Schema
  cannot state -- a status transition that depends on the current status, an end after its start, a
  unique value another row holds, a password validator, a date range's length, a non-zero embedding. A
  400 whose every message is one of ``SEMANTIC_RULES`` is not counted against that check (every other
  check still applies to it); any other 400 to schema-valid data is a failure.
- ``negative_data_rejection`` is not applied where every "invalid" part is a query parameter that reaches
  the server valid (``query_valid_as_sent``: a list of strings whatever its text, one number for a list of
  numbers, or an empty value where ``allowEmptyValue`` says so), nor to an ingest batch answered with its
  invalid items in ``errors`` (``items_refused``: the API's per-item rejection). Every other negative query
  string is judged.
- A 412 to an ``If-Match`` the case sent (a made-up ETag is stale) and a 422 to an ``Idempotency-Key`` an
  earlier case used with another body are not counted against ``positive_data_acceptance`` either, and
  are the rejection ``negative_data_rejection`` asks for (preconditions are evaluated before the body).

Requests run in the test's transaction like the test client's (each inside a savepoint, so a statement
that fails in a view does not poison the requests after it). Rows the ids point at are created with fixed
ids; positive cases use them (path ids and the ``user``/``asset``/``clip``/``campaign`` references), so
they reach real rows and real writes rather than 404s.
"""

import os
import secrets
import uuid

import psycopg
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from gateway.fuzz_rules import conditional_rejection, items_refused, query_valid_as_sent, semantic_rejection

# CI runs one fixed seed so a red build always means a change broke something; SCHEMATHESIS_SEED=random
# explores new data (and prints the seed to replay), SCHEMATHESIS_SEED=<n> replays one.
_SEED_SETTING = os.environ.get("SCHEMATHESIS_SEED") or "20261125"
SEED = secrets.randbits(64) if _SEED_SETTING == "random" else int(_SEED_SETTING)
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES") or 12)

# Fixed keys (the rows are created for each test); the third is never issued.
ADMIN_KEY = "gv_fuzzadmin_0c6f2a4b9d8e7f1a3b5c7d9e1f2a4b6c8d"
USER_KEY = "gv_fuzzuser0_5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a"
UNKNOWN_KEY = "gv_fuzzwrong_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"

# The rows positive cases point at: path ids by resource, and foreign keys by field name (``rows`` adds the job's).
IDS = {
    "users": uuid.UUID("5c4e0000-0000-4000-8000-000000000001"),
    "api-keys": uuid.UUID("5c4e0000-0000-4000-8000-000000000002"),
    "assets": uuid.UUID("5c4e0000-0000-4000-8000-000000000003"),
    "clips": uuid.UUID("5c4e0000-0000-4000-8000-000000000004"),
    "predictions": uuid.UUID("5c4e0000-0000-4000-8000-000000000005"),
    "performance-metrics": uuid.UUID("5c4e0000-0000-4000-8000-000000000006"),
    "campaigns": uuid.UUID("5c4e0000-0000-4000-8000-000000000007"),
    "experiments": uuid.UUID("5c4e0000-0000-4000-8000-000000000008"),
    "conversions": uuid.UUID("5c4e0000-0000-4000-8000-000000000009"),
    "knowledge-documents": uuid.UUID("5c4e0000-0000-4000-8000-00000000000a"),
}
REFERENCES = {"user": "users", "asset": "assets", "clip": "clips", "campaign": "campaigns", "attributed_clip": "clips"}

APP = get_wsgi_application()
with override_settings(ALLOWED_HOSTS=["localhost"]):
    RAW_SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP).raw_schema


def in_savepoint(environ, start_response):
    """The Django application, each request in a savepoint of the test's transaction (see the module)."""
    savepoint = transaction.savepoint()
    try:
        response = APP(environ, start_response)
    finally:
        failed = connection.connection is not None and (
            connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        )
        (transaction.savepoint_rollback if failed else transaction.savepoint_commit)(savepoint)
    return response


def build_schema(*, key=None, generated_credentials=True, max_examples=MAX_EXAMPLES, coverage=True):
    config = {
        "seed": SEED,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "generation": {
            "max-examples": max_examples,
            "mode": "all",
            "database": "none",
            "with-security-parameters": generated_credentials,
        },
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": coverage}},
    }
    if key:
        config["auth"] = {"openapi": {"ApiKeyAuth": {"api_key": key}}}
    schema = schemathesis.openapi.from_dict(RAW_SCHEMA, config=schemathesis.Config.from_dict(config))
    schema.app = in_savepoint
    return schema


admin_schema = build_schema(key=ADMIN_KEY)
# The USER's run repeats the ADMIN's with scoping in the way (most ids are someone else's 404s); the coverage
# phase's boundary values would find nothing new there, so it fuzzes only, to keep the file under 4 minutes.
user_schema = build_schema(key=USER_KEY, coverage=False)
# Without credentials or with a key nobody was issued, every operation is a 401 whatever the data: a few
# examples per operation show it.
anonymous_schema = build_schema(generated_credentials=False, max_examples=2, coverage=False)
unknown_key_schema = build_schema(key=UNKNOWN_KEY, max_examples=2, coverage=False)


@pytest.fixture(scope="module", autouse=True)
def _print_seed(request):
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"schemathesis seed: {SEED} (replay: SCHEMATHESIS_SEED={SEED})")


@pytest.fixture(autouse=True)
def _in_process(settings):
    """Requests go to the WSGI app the way Django's test client sends them."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    # The test client disconnects these too: closing the connection would end the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    rates = {"api_key": "1000000/minute", "anon": "1000000/minute"}
    try:
        with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def rows(db):
    """An ADMIN and a USER with the fixed keys, and one row of each resource (the USER's) with a fixed id."""
    from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
    from campaigns.tasks import evaluate_experiment
    from gateway.jobs import defer
    from knowledge.factories import KnowledgeDocumentFactory
    from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
    from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

    ApiKeyFactory(user=AdminUserFactory(), secret=ADMIN_KEY)
    owner = UserFactory(id=IDS["users"])
    ApiKeyFactory(user=owner, secret=USER_KEY)
    ApiKeyFactory(user=owner, id=IDS["api-keys"])
    asset = AssetFactory(user=owner, id=IDS["assets"])
    clip = ClipFactory(asset=asset, id=IDS["clips"])
    PredictionFactory(clip=clip, id=IDS["predictions"])
    PerformanceMetricFactory(asset=asset, id=IDS["performance-metrics"])
    campaign = CampaignFactory(user=owner, id=IDS["campaigns"])
    experiment = ExperimentFactory(campaign=campaign, id=IDS["experiments"])
    ConversionFactory(campaign=campaign, id=IDS["conversions"])
    KnowledgeDocumentFactory(id=IDS["knowledge-documents"])
    # A job's id comes from Procrastinate's sequence: the owner's queued evaluation, whatever its number.
    IDS["jobs"] = defer(
        evaluate_experiment, user=owner, experiment_id=str(experiment.pk), metric="ctr", threshold=0.95, min_sample=0
    ).job_id


def point_at_rows(case):
    """Positive cases name the fixed rows (path id, references in the query and the body)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = str(IDS[case.operation.path.split("/")[3]])
    for container in (case.query, case.body):
        if isinstance(container, dict):
            for name, resource in REFERENCES.items():
                if isinstance(container.get(name), str):
                    container[name] = str(IDS[resource])


def call_and_validate(case):
    response = case.call()
    conditional = conditional_rejection(case, response)
    excluded = [positive_data_acceptance] if conditional or semantic_rejection(case, response) else []
    # Preconditions come before the body (RFC 9110, 13.2.2): a stale If-Match refuses even a malformed body.
    if query_valid_as_sent(case) or items_refused(case, response) or conditional:
        excluded.append(negative_data_rejection)
    try:
        case.validate_response(response, excluded_checks=excluded)
    except Exception as error:
        error.add_note(f"schemathesis seed: {SEED} (replay: SCHEMATHESIS_SEED={SEED})")
        raise
    return response


FUZZ_SETTINGS = hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))


@admin_schema.parametrize()
@FUZZ_SETTINGS
def test_as_admin(case, rows):
    point_at_rows(case)
    call_and_validate(case)


@user_schema.parametrize()
@FUZZ_SETTINGS
def test_as_user(case, rows):
    point_at_rows(case)
    call_and_validate(case)


@anonymous_schema.parametrize()
@FUZZ_SETTINGS
def test_without_a_key(case, rows):
    point_at_rows(case)
    response = call_and_validate(case)
    assert response.status_code in expected_without_credentials(case), response.text


@unknown_key_schema.parametrize()
@FUZZ_SETTINGS
def test_with_a_key_never_issued(case, rows):
    point_at_rows(case)
    response = call_and_validate(case)
    assert response.status_code in expected_without_credentials(case), response.text


def expected_without_credentials(case) -> set[int]:
    # An id that the URL patterns do not take (``0.``) is a 404 before authentication, as for anyone.
    negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    return {401, 404} if negative_path else {401}
