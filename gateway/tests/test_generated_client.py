"""A client generated from the committed schema by openapi-python-client (a real client no one here wrote)
runs a user's day against a live server: every request it builds is accepted and every answer parses.
"""

import importlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from django.conf import settings

from campaigns.factories import CampaignFactory, ConversionFactory
from knowledge.factories import KnowledgeDocumentFactory
from users.factories import ApiKeyFactory, UserFactory

SCHEMA = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "geminivideo_client"

pytestmark = [
    pytest.mark.skipif(not GENERATOR.exists(), reason="openapi-python-client is not installed (requirements-dev.txt)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package, generated from docs/openapi.yaml into a temporary folder and imported."""
    root = tmp_path_factory.mktemp("client")
    config = root / "config.yaml"
    # The generator formats its output with ruff when asked; the test reads the code, it need not be pretty.
    config.write_text("post_hooks: []\n")
    subprocess.run(
        [GENERATOR, "generate", "--path", SCHEMA, "--meta", "none", "--config", config]
        + ["--output-path", root / PACKAGE],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))
        for module in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[module]


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def client(generated, live_server, owner):
    """An authenticated client of the generated package, on a new API key of ``owner``."""
    secret = ApiKeyFactory(user=owner).secret
    authenticated = generated("client").AuthenticatedClient(
        base_url=live_server.url, token=secret, prefix="Api-Key", raise_on_unexpected_status=True
    )
    with authenticated as open_client:
        yield open_client


def call(generated, operation: str):
    """The generated module of an operation: ``call(generated, "clips.clips_score")``."""
    return generated(f"api.{operation}")


class TestUsersDay:
    def test_an_asset_and_its_clips_are_created_scored_and_ranked(self, generated, client):
        models = generated("models")
        asset = call(generated, "assets.assets_create").sync(
            client=client,
            body=models.AssetRequest(
                filename="launch.mp4",
                original_name="Launch.mp4",
                mime_type="video/mp4",
                file_size=1_000_000,
                gcs_url="gs://bucket/launch.mp4",
                gcs_bucket="bucket",
                gcs_path="launch.mp4",
            ),
        )
        assert isinstance(asset, models.Asset)
        clips = [
            call(generated, "clips.clips_create").sync(
                client=client, body=models.ClipRequest(asset=asset.id, start_time=start, end_time=start + 5)
            )
            for start in (0.0, 5.0, 10.0)
        ]
        for clip, score in zip(clips, (0.2, 0.9, 0.5), strict=True):
            scored = call(generated, "clips.clips_score").sync(
                id=clip.id, client=client, body=models.ClipScoresRequest(score=score)
            )
            assert scored.status == models.ClipStatusEnum.SCORED

        top = call(generated, "clips.clips_top").sync(client=client, asset=asset.id, limit=2)

        assert [clip.id for clip in top] == [clips[1].id, clips[2].id]
        listed = call(generated, "assets.assets_list").sync(client=client)
        assert [row.id for row in listed.results] == [asset.id]

    def test_a_campaigns_metrics_are_set_and_read_back(self, generated, client, owner):
        models = generated("models")
        campaign = CampaignFactory(user=owner)

        call(generated, "campaigns.campaigns_metrics").sync(
            id=campaign.id, client=client, body=models.CampaignMetricsRequest(impressions=1000, clicks=50)
        )

        read = call(generated, "campaigns.campaigns_retrieve").sync(id=campaign.id, client=client)
        assert (read.total_impressions, read.total_clicks) == (1000, 50)

    def test_conversions_are_ingested_from_typed_items_and_listed_filtered_and_ordered(self, generated, client, owner):
        models = generated("models")
        campaign = CampaignFactory(user=owner)
        now = datetime.now(UTC)
        sources = models.ConversionSourceEnum
        items = [
            models.ConversionIngestItemRequest(
                campaign=campaign.id,
                source=source,
                external_id=f"order-{index}",
                value=str(10 * (index + 1)),
                timestamp=now - timedelta(hours=index),
            )
            for index, source in enumerate([sources.META, sources.GOOGLE, sources.TIKTOK])
        ]

        result = call(generated, "conversions.conversions_ingest").sync(
            client=client, body=models.ConversionIngestRequest(conversions=items)
        )
        listed = call(generated, "conversions.conversions_list").sync(
            client=client,
            source_in=[sources.META, sources.GOOGLE],
            ordering=[models.ConversionsListOrdering.VALUE_DESC],
        )

        assert (result.created, result.duplicates, result.errors) == (3, 0, [])
        assert [row.external_id for row in listed.results] == ["order-1", "order-0"]

    def test_a_cursor_page_is_walked_to_the_end(self, generated, client, owner):
        campaign = CampaignFactory(user=owner)
        expected = {str(ConversionFactory(campaign=campaign).pk) for _ in range(7)}
        listing = call(generated, "conversions.conversions_list")

        seen, cursor = [], ""
        while cursor is not None:
            page = listing.sync(client=client, cursor=cursor, page_size=3)
            seen += [str(row.id) for row in page.results]
            cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0] if page.next_ else None

        assert sorted(seen) == sorted(expected)

    def test_knowledge_is_searched(self, generated, client):
        models = generated("models")
        document = KnowledgeDocumentFactory(name="Budget pacing", content="Pace the budget across the flight.")

        answer = call(generated, "knowledge_documents.knowledge_documents_search").sync(
            client=client, body=models.KnowledgeSearchRequest(query="budget pacing", mode=models.ModeEnum.TEXT)
        )

        assert [result.id for result in answer.results] == [document.id]

    def test_a_bad_score_is_a_typed_field_error(self, generated, client, owner):
        models = generated("models")
        campaign = CampaignFactory(user=owner)

        response = call(generated, "campaigns.campaigns_metrics").sync_detailed(
            id=campaign.id, client=client, body=models.CampaignMetricsRequest(clicks=-1)
        )

        assert response.status_code == 400
        assert isinstance(response.parsed, models.FieldErrors)
        assert response.parsed.additional_properties["clicks"] == ["Ensure this value is greater than or equal to 0."]

    def test_someone_elses_campaign_is_a_typed_not_found(self, generated, client):
        models = generated("models")
        elsewhere = CampaignFactory()

        for campaign_id in (elsewhere.id, uuid4()):
            response = call(generated, "campaigns.campaigns_retrieve").sync_detailed(id=campaign_id, client=client)

            assert response.status_code == 404
            assert isinstance(response.parsed, models.Error)
            assert response.parsed.detail
