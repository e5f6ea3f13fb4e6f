"""The header's global search (``gateway/admin/global_search.py``): one box that finds a row of any model."""

import pytest
from django.db import connection

from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from gateway.admin.global_search import GLOBAL_SEARCH_LIMIT
from gateway.tests.admin_helpers import change_url, staff_user
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory
from media.models import Asset
from users.factories import UserFactory

pytestmark = pytest.mark.django_db

SEARCH_URL = "/admin/search/"


def search(client, term: str):
    response = client.get(SEARCH_URL, {"q": term})
    assert response.status_code == 200
    return response


def hit_models(response) -> dict[str, list[str]]:
    """``{model name: [titles of its hits]}`` of a results page."""
    return {group.opts.model_name: [hit.title for hit in group.hits] for group in response.context["groups"]}


class TestGlobalSearch:
    def test_every_console_page_has_the_search_box(self, admin_client):
        response = admin_client.get("/admin/media/asset/")
        assert b'id="gv-global-search"' in response.content
        assert b'action="/admin/search/"' in response.content

    def test_the_login_page_has_no_search_box(self, client):
        assert b"gv-global-search" not in client.get("/admin/login/").content

    def test_finds_a_row_by_its_full_id(self, admin_client):
        campaign = CampaignFactory(name="Autumn launch")
        assert hit_models(search(admin_client, str(campaign.pk))) == {"campaign": ["Autumn launch"]}

    def test_finds_a_row_by_its_short_id(self, admin_client):
        asset = AssetFactory(original_name="teaser.mp4")
        assert hit_models(search(admin_client, str(asset.pk)[:8].upper()))["asset"] == ["teaser.mp4"]

    def test_finds_a_user_by_email_whatever_the_case(self, admin_client):
        UserFactory(email="olivia@example.com", name="Olivia")
        assert hit_models(search(admin_client, "Olivia@Example.com"))["user"] == ["olivia@example.com"]

    def test_finds_rows_by_part_of_their_name(self, admin_client):
        AssetFactory(original_name="summer-teaser.mp4")
        CampaignFactory(name="Summer sale")
        ExperimentFactory(name="Summer headline test")
        hits = hit_models(search(admin_client, "summer"))
        assert hits["asset"] == ["summer-teaser.mp4"]
        assert hits["campaign"] == ["Summer sale"]
        assert hits["experiment"] == ["Summer headline test"]

    def test_finds_a_conversion_by_external_id(self, admin_client):
        conversion = ConversionFactory(external_id="order-8841")
        assert hit_models(search(admin_client, "order-8841")) == {"conversion": [str(conversion)]}

    def test_finds_an_asset_by_gcs_url(self, admin_client):
        asset = AssetFactory(original_name="raw.mp4")
        assert hit_models(search(admin_client, asset.gcs_url))["asset"] == ["raw.mp4"]

    def test_finds_a_knowledge_document_by_words_of_its_text(self, admin_client):
        KnowledgeDocumentFactory(name="Daily Budget Pacing", content="Spread spend evenly through the day.")
        assert hit_models(search(admin_client, "budget pacing")) == {"knowledgedocument": ["Daily Budget Pacing"]}

    def test_a_term_shorter_than_a_trigram_searches_nothing(self, admin_client, django_assert_max_num_queries):
        CampaignFactory(name="Summer sale")
        with django_assert_max_num_queries(2):
            response = search(admin_client, "su")
        assert response.context["groups"] == []
        assert "Type at least 3 characters" in response.content.decode()

    def test_a_null_character_finds_nothing(self, admin_client):
        assert search(admin_client, "budget\x00").context["groups"] == []

    def test_hits_link_to_their_change_pages(self, admin_client):
        asset = AssetFactory(original_name="teaser.mp4")
        response = search(admin_client, str(asset.pk))
        assert f'href="{change_url(Asset, asset.pk)}"'.encode() in response.content

    def test_a_clip_is_titled_by_its_asset_and_segment(self, admin_client):
        clip = ClipFactory(asset=AssetFactory(original_name="launch.mp4"), start_time=80, end_time=95)
        assert hit_models(search(admin_client, str(clip.pk)))["clip"] == ["launch.mp4 [80s–95s]"]

    def test_soft_deleted_rows_are_found_and_marked(self, admin_client):
        asset = AssetFactory(original_name="gone.mp4")
        asset.soft_delete()
        response = search(admin_client, "gone.mp4")
        assert response.context["groups"][0].hits[0].deleted
        assert b'<span class="gv-deleted">deleted</span>' in response.content

    def test_more_hits_than_the_limit_link_to_the_searched_changelist(self, admin_client):
        CampaignFactory.create_batch(GLOBAL_SEARCH_LIMIT + 1, name="Winter promo")
        group = search(admin_client, "winter").context["groups"][0]
        assert len(group.hits) == GLOBAL_SEARCH_LIMIT
        assert group.more
        assert group.changelist_url == "/admin/campaigns/campaign/?q=winter&deleted=all"

    def test_says_when_nothing_is_found(self, admin_client):
        assert "Nothing found for “no-such-thing”." in search(admin_client, "no-such-thing").content.decode()

    def test_a_staff_member_sees_only_the_models_they_may_view(self, client):
        CampaignFactory(name="Spring sale")
        AssetFactory(original_name="spring.mp4")
        client.force_login(staff_user("media.view_asset"))
        assert hit_models(search(client, "spring")) == {"asset": ["spring.mp4"]}

    def test_the_page_is_for_staff_only(self, client):
        client.force_login(UserFactory())
        response = client.get(SEARCH_URL, {"q": "spring"})
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")

    def test_runs_a_bounded_number_of_queries(self, admin_client, django_assert_max_num_queries):
        for index in range(5):
            asset = AssetFactory(original_name=f"promo-{index}.mp4")
            ClipFactory.create_batch(2, asset=asset)
            CampaignFactory(name=f"Promo {index}")
        # Session and user, then at most two queries (a short id's range scan, the rows) per searchable model.
        with django_assert_max_num_queries(2 + 2 * 10):
            search(admin_client, "promo")

    def test_a_name_search_can_use_the_trigram_index(self):
        sql, params = Asset.all_objects.filter(original_name__icontains="teaser").order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "media_asset_name_trgm_idx" in plan
