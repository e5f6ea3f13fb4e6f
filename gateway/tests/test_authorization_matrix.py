"""Who may do what: every endpoint of the API against every kind of caller, from one table.

``MATRIX`` has one row per endpoint (method and path, as the OpenAPI schema names them; a ``variant``
such as ``hard`` for ``DELETE ...?hard=true``) with the status each caller gets. The rows the ids point
at belong to ``owner``, a USER. The callers:

- ``anonymous``: no credentials;
- ``owner``: the USER who owns the rows;
- ``enterprise``: an ENTERPRISE user, who owns nothing here (ENTERPRISE has no extra rights over data);
- ``admin``: an ADMIN;
- ``other``: another USER.

Someone else's row is a 404, never a 403 (its existence is not revealed); an ADMIN-only operation is a
403 for everyone else; no credentials is a 401. A row a non-owner names in a body (a clip's ``asset``)
is a 400 that does not reveal whether it exists. One test per cell is generated from the table, and
``test_the_table_has_every_endpoint`` fails when an endpoint of the URL patterns or of the schema is
not in it.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory, default_variants
from campaigns.models import Conversion
from campaigns.tasks import evaluate_experiment
from gateway.jobs import defer
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.services import knowledge_document_update
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from media.models import PerformanceMetric
from users.choices import Role
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "owner", "enterprise", "admin", "other")


def owned(ok: int, *, anonymous: int = 401, others: int = 404) -> dict:
    """The owner's row: the owner and ADMIN get ``ok``, other users ``others`` (404: not theirs)."""
    return {"anonymous": anonymous, "owner": ok, "enterprise": others, "admin": ok, "other": others}


def everyone(ok: int) -> dict:
    """Every authenticated caller gets ``ok`` (a list scoped to the caller, their own profile...)."""
    return {"anonymous": 401, "owner": ok, "enterprise": ok, "admin": ok, "other": ok}


def admin_only(ok: int) -> dict:
    """ADMIN only: everyone else gets a 403, the owner of the row too (hard delete, restore, users)."""
    return {"anonymous": 401, "owner": 403, "enterprise": 403, "admin": ok, "other": 403}


# Bodies: a function of the world (see ``world``) so they can name its rows.
def asset_body(w):
    return {
        "filename": "new.mp4",
        "original_name": "New.mp4",
        "mime_type": "video/mp4",
        "file_size": 1000,
        "gcs_url": "gs://bucket/new.mp4",
        "gcs_bucket": "bucket",
        "gcs_path": "new.mp4",
    }


def clip_body(w):
    return {"asset": str(w["assets"].pk), "start_time": 100.0, "end_time": 110.0}


def prediction_body(w):
    return {"clip": str(w["clips"].pk), "model_version": "v9"}


def metric_body(w):
    return {"asset": str(w["assets"].pk), "platform": "tiktok", "date": "2030-01-01", "impressions": 10}


def campaign_body(w):
    return {"name": "Autumn", "budget": "5000.00"}


def experiment_body(w):
    return {"campaign": str(w["campaigns"].pk), "name": "Hooks", "variants": default_variants()}


def conversion_body(w):
    return {"campaign": str(w["campaigns"].pk), "value": "2.50", "external_id": "matrix-1"}


def document_body(w):
    return {"name": "Pacing", "content": "Spend evenly.", "category": "guides"}


def user_body(w):
    return {"email": "new.person@example.com", "name": "New Person"}


def owner_profile_body(w):
    return {"email": w["users"].email, "name": "Renamed"}


HISTORY_RESOURCES = ("users", "api-keys", "assets", "clips", "predictions", "campaigns", "experiments", "conversions")

# (method, path, variant, body, expected status per caller)
MATRIX = [
    # users: ADMIN manages everyone; others see only themselves and edit users/me/.
    ("GET", "/api/v1/users/", None, None, everyone(200)),
    ("POST", "/api/v1/users/", None, user_body, admin_only(201)),
    ("GET", "/api/v1/users/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/users/{id}/", None, owner_profile_body, admin_only(200)),
    ("PATCH", "/api/v1/users/{id}/", None, lambda w: {"name": "Renamed"}, admin_only(200)),
    ("DELETE", "/api/v1/users/{id}/", None, None, admin_only(204)),
    ("DELETE", "/api/v1/users/{id}/", "hard", None, admin_only(204)),
    ("POST", "/api/v1/users/{id}/restore/", None, None, admin_only(200)),
    ("GET", "/api/v1/users/me/", None, None, everyone(200)),
    ("PUT", "/api/v1/users/me/", None, lambda w: {"name": "Me"}, everyone(200)),
    ("PATCH", "/api/v1/users/me/", None, lambda w: {"settings": {"theme": "dark"}}, everyone(200)),
    # api-keys: each user's own keys (ADMIN: everyone's); DELETE and revoke/ revoke.
    ("GET", "/api/v1/api-keys/", None, None, everyone(200)),
    ("POST", "/api/v1/api-keys/", None, lambda w: {"name": "ci"}, everyone(201)),
    ("GET", "/api/v1/api-keys/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/api-keys/{id}/", None, lambda w: {"name": "renamed"}, owned(200)),
    ("PATCH", "/api/v1/api-keys/{id}/", None, lambda w: {"name": "renamed"}, owned(200)),
    ("DELETE", "/api/v1/api-keys/{id}/", None, None, owned(204)),
    ("POST", "/api/v1/api-keys/{id}/revoke/", None, None, owned(200)),
    # assets
    ("GET", "/api/v1/assets/", None, None, everyone(200)),
    ("POST", "/api/v1/assets/", None, asset_body, everyone(201)),
    ("GET", "/api/v1/assets/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/assets/{id}/", None, asset_body, owned(200)),
    ("PATCH", "/api/v1/assets/{id}/", None, lambda w: {"codec": "av1"}, owned(200)),
    ("DELETE", "/api/v1/assets/{id}/", None, None, owned(204)),
    ("DELETE", "/api/v1/assets/{id}/", "hard", None, admin_only(204)),
    ("POST", "/api/v1/assets/{id}/restore/", None, None, admin_only(200)),
    ("POST", "/api/v1/assets/{id}/status/", None, lambda w: {"status": "ARCHIVED"}, owned(200)),
    # clips: a non-owner naming the owner's asset gets a 400 that does not say whether it exists.
    ("GET", "/api/v1/clips/", None, None, everyone(200)),
    ("POST", "/api/v1/clips/", None, clip_body, owned(201, others=400)),
    ("GET", "/api/v1/clips/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/clips/{id}/", None, clip_body, owned(200)),
    ("PATCH", "/api/v1/clips/{id}/", None, lambda w: {"has_text": True}, owned(200)),
    ("DELETE", "/api/v1/clips/{id}/", None, None, owned(204)),
    ("DELETE", "/api/v1/clips/{id}/", "hard", None, admin_only(204)),
    ("POST", "/api/v1/clips/{id}/restore/", None, None, admin_only(200)),
    ("POST", "/api/v1/clips/{id}/scores/", None, lambda w: {"score": 0.5}, owned(200)),
    ("GET", "/api/v1/clips/top/", None, None, everyone(200)),
    # predictions
    ("GET", "/api/v1/predictions/", None, None, everyone(200)),
    ("POST", "/api/v1/predictions/", None, prediction_body, owned(201, others=400)),
    ("GET", "/api/v1/predictions/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/predictions/{id}/", None, prediction_body, owned(200)),
    ("PATCH", "/api/v1/predictions/{id}/", None, lambda w: {"confidence": 0.9}, owned(200)),
    ("DELETE", "/api/v1/predictions/{id}/", None, None, owned(204)),
    ("POST", "/api/v1/predictions/{id}/actuals/", None, lambda w: {"actual_roas": 2.0}, owned(200)),
    ("GET", "/api/v1/predictions/accuracy/", None, None, everyone(200)),
    # performance metrics: ingest answers 200 and reports someone else's asset in ``errors``.
    ("GET", "/api/v1/performance-metrics/", None, None, everyone(200)),
    ("POST", "/api/v1/performance-metrics/", None, metric_body, owned(201, others=400)),
    ("GET", "/api/v1/performance-metrics/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/performance-metrics/{id}/", None, metric_body, owned(200)),
    ("PATCH", "/api/v1/performance-metrics/{id}/", None, lambda w: {"clicks": 5}, owned(200)),
    ("DELETE", "/api/v1/performance-metrics/{id}/", None, None, owned(204)),
    ("POST", "/api/v1/performance-metrics/ingest/", None, lambda w: {"metrics": [metric_body(w)]}, everyone(200)),
    # campaigns
    ("GET", "/api/v1/campaigns/", None, None, everyone(200)),
    ("POST", "/api/v1/campaigns/", None, campaign_body, everyone(201)),
    ("GET", "/api/v1/campaigns/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/campaigns/{id}/", None, campaign_body, owned(200)),
    ("PATCH", "/api/v1/campaigns/{id}/", None, lambda w: {"description": "Q4"}, owned(200)),
    ("DELETE", "/api/v1/campaigns/{id}/", None, None, owned(204)),
    ("DELETE", "/api/v1/campaigns/{id}/", "hard", None, admin_only(204)),
    ("POST", "/api/v1/campaigns/{id}/restore/", None, None, admin_only(200)),
    ("POST", "/api/v1/campaigns/{id}/metrics/", None, lambda w: {"clicks": 1, "increment": True}, owned(200)),
    ("GET", "/api/v1/campaigns/{id}/performance/", None, None, owned(200)),
    ("POST", "/api/v1/campaigns/{id}/status/", None, lambda w: {"status": "PAUSED"}, owned(200)),
    # experiments
    ("GET", "/api/v1/experiments/", None, None, everyone(200)),
    ("POST", "/api/v1/experiments/", None, experiment_body, owned(201, others=400)),
    ("GET", "/api/v1/experiments/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/experiments/{id}/", None, experiment_body, owned(200)),
    ("PATCH", "/api/v1/experiments/{id}/", None, lambda w: {"description": "B wins?"}, owned(200)),
    ("DELETE", "/api/v1/experiments/{id}/", None, None, owned(204)),
    ("DELETE", "/api/v1/experiments/{id}/", "hard", None, admin_only(204)),
    ("POST", "/api/v1/experiments/{id}/restore/", None, None, admin_only(200)),
    ("POST", "/api/v1/experiments/{id}/evaluate/", None, lambda w: {}, owned(200)),
    ("POST", "/api/v1/experiments/{id}/evaluate/", "apply", lambda w: {"apply": True}, owned(202)),
    ("POST", "/api/v1/experiments/{id}/select-winner/", None, lambda w: {"variant_id": "variant-b"}, owned(200)),
    # conversions: ingest answers 200 and reports someone else's campaign in ``errors``.
    # jobs: the job the owner queued (an evaluation with apply); ADMIN sees every job.
    ("GET", "/api/v1/jobs/{id}/", None, None, owned(200)),
    ("GET", "/api/v1/conversions/", None, None, everyone(200)),
    ("POST", "/api/v1/conversions/", None, conversion_body, owned(201, others=400)),
    ("GET", "/api/v1/conversions/{id}/", None, None, owned(200)),
    ("PUT", "/api/v1/conversions/{id}/", None, conversion_body, owned(200)),
    ("PATCH", "/api/v1/conversions/{id}/", None, lambda w: {"value": "3.00"}, owned(200)),
    ("DELETE", "/api/v1/conversions/{id}/", None, None, owned(204)),
    ("POST", "/api/v1/conversions/ingest/", None, lambda w: {"conversions": [conversion_body(w)]}, everyone(200)),
    # knowledge documents: every authenticated user reads and searches, ADMIN writes.
    ("GET", "/api/v1/knowledge-documents/", None, None, everyone(200)),
    ("POST", "/api/v1/knowledge-documents/", None, document_body, admin_only(201)),
    ("GET", "/api/v1/knowledge-documents/{id}/", None, None, everyone(200)),
    ("PUT", "/api/v1/knowledge-documents/{id}/", None, document_body, admin_only(200)),
    ("PATCH", "/api/v1/knowledge-documents/{id}/", None, lambda w: {"category": "faq"}, admin_only(200)),
    ("DELETE", "/api/v1/knowledge-documents/{id}/", None, None, admin_only(204)),
    ("DELETE", "/api/v1/knowledge-documents/{id}/", "hard", None, admin_only(204)),
    ("POST", "/api/v1/knowledge-documents/{id}/restore/", None, None, admin_only(200)),
    ("POST", "/api/v1/knowledge-documents/{id}/restore-version/", None, lambda w: {"version": 1}, admin_only(200)),
    ("GET", "/api/v1/knowledge-documents/{id}/versions/", None, None, everyone(200)),
    ("POST", "/api/v1/knowledge-documents/search/", None, lambda w: {"query": "budget"}, everyone(200)),
    # the history of every tracked row: whoever may see the row (gateway/api/history.py).
    *(("GET", f"/api/v1/{resource}/{{id}}/history/", None, None, owned(200)) for resource in HISTORY_RESOURCES),
]


@pytest.fixture
def world():
    """The callers (each with an API key) and one row of each resource, owned by ``owner``."""
    owner = UserFactory()
    callers = {
        "owner": owner,
        "enterprise": UserFactory(role=Role.ENTERPRISE),
        "admin": AdminUserFactory(),
        "other": UserFactory(),
    }
    keys = {role: ApiKeyFactory(user=user).secret for role, user in callers.items()}
    asset = AssetFactory(user=owner)
    clip = ClipFactory(asset=asset)
    campaign = CampaignFactory(user=owner)
    experiment = ExperimentFactory(campaign=campaign)
    document = KnowledgeDocumentFactory(content="First version.")
    knowledge_document_update(document=document, user=None, content="Second version.")
    rows = {
        "users": owner,
        "api-keys": ApiKeyFactory(user=owner),
        "assets": asset,
        "clips": clip,
        "predictions": PredictionFactory(clip=clip),
        "performance-metrics": PerformanceMetricFactory(asset=asset),
        "campaigns": campaign,
        "experiments": experiment,
        "jobs": defer(
            evaluate_experiment,
            user=owner,
            experiment_id=str(experiment.pk),
            metric="ctr",
            threshold=0.95,
            min_sample=0,
        ),
        "conversions": ConversionFactory(campaign=campaign),
        "knowledge-documents": document,
    }
    return {**rows, "keys": keys}


def request_for(world, role, method, path, variant, body):
    client = APIClient()
    if role != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world['keys'][role]}")
    resource = path.split("/")[3]
    url = path.replace("{id}", str(world[resource].pk)) if "{id}" in path else path
    if variant == "hard":
        url += "?hard=true"
    data = body(world) if body else None
    return getattr(client, method.lower())(url, data, format="json")


CELLS = [
    pytest.param(
        method,
        path,
        variant,
        body,
        role,
        expected[role],
        id=f"{method} {path}{variant and ' ' + variant or ''} as {role}",
    )
    for method, path, variant, body, expected in MATRIX
    for role in ROLES
]


@pytest.mark.parametrize(("method", "path", "variant", "body", "role", "expected"), CELLS)
def test_caller_gets_the_expected_status(world, method, path, variant, body, role, expected):
    response = request_for(world, role, method, path, variant, body)
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        assert "detail" in response.json() or expected == 400  # 400s carry field errors, the others a detail


def test_someone_else_s_ingest_reports_the_row_and_writes_nothing(world):
    """Ingest answers 200 to anyone, but someone else's campaign or asset is an error of the item."""
    conversions = request_for(
        world, "other", "POST", "/api/v1/conversions/ingest/", None, lambda w: {"conversions": [conversion_body(w)]}
    )
    metrics = request_for(
        world, "other", "POST", "/api/v1/performance-metrics/ingest/", None, lambda w: {"metrics": [metric_body(w)]}
    )
    assert conversions.json()["created"] == 0 and len(conversions.json()["errors"]) == 1
    assert metrics.json()["created"] == 0 and len(metrics.json()["errors"]) == 1
    assert not Conversion.objects.filter(external_id="matrix-1").exists()
    assert not PerformanceMetric.objects.filter(platform="tiktok").exists()


def api_endpoints_from_url_patterns() -> set[tuple[str, str]]:
    """Every (method, path) the URL patterns route under /api/v1/, paths written as the schema writes them."""
    endpoints = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                actions = getattr(pattern.callback, "actions", None) or {}
                path = "/" + re.sub(r"\(\?P<(?:pk|id)>[^)]*\)", "{id}", route.replace("^", "").replace("$", ""))
                if "(?P<format>" in path or "\\." in path:
                    continue  # DRF's format-suffix variants of the same endpoints
                endpoints.update((method.upper(), path) for method in actions if method not in ("head", "options"))

    walk(get_resolver().url_patterns, "")
    return endpoints


def api_endpoints_from_schema() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method.upper(), path) for path, operations in schema["paths"].items() for method in operations}


def test_the_table_has_every_endpoint():
    in_table = {(method, path) for method, path, _, _, _ in MATRIX}
    routed = api_endpoints_from_url_patterns()
    documented = api_endpoints_from_schema()
    assert routed, "no /api/v1/ URL pattern found"
    assert sorted(routed - in_table) == [], "endpoints routed but missing from MATRIX"
    assert sorted(documented - in_table) == [], "endpoints in the schema but missing from MATRIX"
    assert sorted(in_table - routed) == [], "MATRIX rows for endpoints that do not exist"


def test_every_row_names_every_caller():
    for method, path, _, _, expected in MATRIX:
        assert set(expected) == set(ROLES), (method, path)
