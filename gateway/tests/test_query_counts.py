"""Every list and detail endpoint runs the same number of queries however many rows it returns.

Each case builds a small and a large data set (for a detail: a row with few and with many embedded rows),
requests the same endpoint on both and compares the queries run. Lists also stay within 5 queries
(authentication, count, page), cursor pages within 2 (no count). Both an owner-scoped USER and an ADMIN
are checked, since their queries differ.
"""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from gateway.tests.api_helpers import client_for
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
FEW, MANY = 2, 12
LIST_MAX_QUERIES = 5
CURSOR_MAX_QUERIES = 2


def queries_of(client, path: str, params: dict | None = None) -> tuple[int, dict | list]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(captured), response.json()


def rows_in(body) -> int:
    return len(body["results"]) if isinstance(body, dict) else len(body)


def make_assets(user, count):
    AssetFactory.create_batch(count, user=user)


def make_clips(user, count):
    asset = AssetFactory(user=user)
    ClipFactory.create_batch(count, asset=asset)


def make_predictions(user, count):
    clip = ClipFactory(asset=AssetFactory(user=user))
    PredictionFactory.create_batch(count, clip=clip)


def make_metrics(user, count):
    PerformanceMetricFactory.create_batch(count, asset=AssetFactory(user=user))


def make_campaigns(user, count):
    CampaignFactory.create_batch(count, user=user)


def make_experiments(user, count):
    ExperimentFactory.create_batch(count, campaign=CampaignFactory(user=user))


def make_conversions(user, count):
    campaign = CampaignFactory(user=user)
    clip = ClipFactory(asset=AssetFactory(user=user))
    start = timezone.now() - timedelta(days=1)
    for number in range(count):
        ConversionFactory(campaign=campaign, attributed_clip=clip, timestamp=start + timedelta(minutes=number))


def make_api_keys(user, count):
    ApiKeyFactory.create_batch(count, user=user)


def make_documents(user, count):
    KnowledgeDocumentFactory.create_batch(count)


def make_users(user, count):
    UserFactory.create_batch(count)


LISTS = {
    "assets": make_assets,
    "clips": make_clips,
    "predictions": make_predictions,
    "performance-metrics": make_metrics,
    "campaigns": make_campaigns,
    "experiments": make_experiments,
    "conversions": make_conversions,
    "api-keys": make_api_keys,
    "knowledge-documents": make_documents,
}


def routed_viewsets() -> dict:
    """The viewset of every URL prefix the apps' routers register (``assets``, ``api-keys``...)."""
    viewsets = {}
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.api.urls")
        except ModuleNotFoundError:
            continue
        viewsets |= {prefix: viewset for prefix, viewset, _ in module.router.registry}
    return viewsets


def test_every_routed_list_has_a_query_count_test():
    # Users have their own test below (the list differs per role).
    assert set(routed_viewsets()) - {"users"} == set(LISTS)


def caller(role: str):
    """A user and their API client, whose key has been used once (its ``last_used_at`` write is behind it)."""
    user = AdminUserFactory() if role == "admin" else UserFactory()
    client = client_for(user)
    assert client.get(f"{API}/users/me/").status_code == 200
    return user, client


@pytest.mark.parametrize("role", ["user", "admin"])
@pytest.mark.parametrize("resource", sorted(LISTS))
def test_list_queries_do_not_grow_with_rows(resource, role):
    user, client = caller(role)
    LISTS[resource](user, FEW)
    few, body = queries_of(client, f"{API}/{resource}/", {"page_size": 100})
    assert rows_in(body) >= FEW
    LISTS[resource](user, MANY)
    many, body = queries_of(client, f"{API}/{resource}/", {"page_size": 100})
    assert rows_in(body) >= FEW + MANY
    assert many == few
    assert many <= LIST_MAX_QUERIES


def test_user_list_queries_do_not_grow_with_rows():
    admin, client = caller("admin")
    few, _ = queries_of(client, f"{API}/users/")
    make_users(admin, MANY)
    many, body = queries_of(client, f"{API}/users/", {"page_size": 100})
    assert rows_in(body) > MANY
    assert many == few <= LIST_MAX_QUERIES


@pytest.mark.parametrize("role", ["user", "admin"])
@pytest.mark.parametrize("resource", ["conversions", "predictions"])
def test_cursor_pages_never_count(resource, role):
    user, client = caller(role)
    LISTS[resource](user, FEW)
    few, body = queries_of(client, f"{API}/{resource}/", {"cursor": "", "page_size": 100})
    assert "count" not in body
    LISTS[resource](user, MANY)
    many, body = queries_of(client, f"{API}/{resource}/", {"cursor": "", "page_size": 100})
    assert rows_in(body) == FEW + MANY
    assert many == few <= CURSOR_MAX_QUERIES


def asset_with_clips(user, count):
    asset = AssetFactory(user=user)
    ClipFactory.create_batch(count, asset=asset)
    return f"assets/{asset.pk}/"


def clip_with_predictions(user, count):
    clip = ClipFactory(asset=AssetFactory(user=user))
    PredictionFactory.create_batch(count, clip=clip)
    return f"clips/{clip.pk}/"


def campaign_with_experiments_and_conversions(user, count):
    campaign = CampaignFactory(user=user)
    ExperimentFactory.create_batch(count, campaign=campaign)
    for number in range(count):
        ConversionFactory(campaign=campaign, currency=["USD", "EUR", "GBP"][number % 3])
    return f"campaigns/{campaign.pk}/"


def one_row(prefix, factory, owner=None):
    """A detail with nothing embedded: a new row of ``factory``, owned by the caller through ``owner``."""

    def detail(user, count):
        row = factory(**{owner: user}) if owner else factory()
        return f"{prefix}/{row.pk}/"

    return detail


DETAILS = {
    "asset with clips": asset_with_clips,
    "clip with predictions": clip_with_predictions,
    "campaign with experiments and conversion totals": campaign_with_experiments_and_conversions,
    "prediction": one_row("predictions", PredictionFactory, "clip__asset__user"),
    "performance metric": one_row("performance-metrics", PerformanceMetricFactory, "asset__user"),
    "experiment": one_row("experiments", ExperimentFactory, "campaign__user"),
    "conversion": one_row("conversions", ConversionFactory, "campaign__user"),
    "api key": one_row("api-keys", ApiKeyFactory, "user"),
    "knowledge document": one_row("knowledge-documents", KnowledgeDocumentFactory),
}


@pytest.mark.parametrize("role", ["user", "admin"])
@pytest.mark.parametrize("detail", sorted(DETAILS))
def test_detail_queries_do_not_grow_with_embedded_rows(detail, role):
    user, client = caller(role)
    few, _ = queries_of(client, f"{API}/{DETAILS[detail](user, FEW)}")
    many, _ = queries_of(client, f"{API}/{DETAILS[detail](user, MANY)}")
    assert many == few


def test_user_detail_and_me_run_fixed_queries():
    admin, client = caller("admin")
    other = UserFactory()
    ApiKeyFactory.create_batch(MANY, user=other)
    few, _ = queries_of(client, f"{API}/users/{UserFactory().pk}/")
    many, _ = queries_of(client, f"{API}/users/{other.pk}/")
    assert many == few
    me, _ = queries_of(client, f"{API}/users/me/")
    assert me <= 2


@pytest.mark.parametrize("role", ["user", "admin"])
def test_top_clips_queries_do_not_grow_with_clips(role):
    user, client = caller(role)
    asset = AssetFactory(user=user)
    ClipFactory.create_batch(FEW, asset=asset)
    few, body = queries_of(client, f"{API}/clips/top/", {"asset": str(asset.pk), "limit": 100})
    ClipFactory.create_batch(MANY, asset=asset)
    many, body = queries_of(client, f"{API}/clips/top/", {"asset": str(asset.pk), "limit": 100})
    assert len(body) == FEW + MANY
    assert many == few
