"""The shared admin plumbing: estimated counts, the index-only date hierarchy, search, JSON editing, filters."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.factories import CampaignFactory
from campaigns.models import Campaign
from gateway.admin.json_fields import PrettyJSONField
from gateway.admin.links import change_url
from gateway.admin.search import uuid_search_q
from gateway.paginator import EstimatedCountPaginator
from gateway.tests.admin_helpers import add_url, changelist_url, messages_of, run_action
from media.factories import AssetFactory, ClipFactory
from media.models import Asset, Clip

pytestmark = pytest.mark.django_db


def sql_of(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


class TestEstimatedCountPaginator:
    def test_small_lists_are_counted_exactly(self):
        ClipFactory.create_batch(3)
        paginator = EstimatedCountPaginator(Clip.objects.order_by("-created_at"), 50)
        assert (paginator.count, paginator.count_is_estimate) == (3, False)

    def test_filtered_count_stops_at_the_cap_and_estimates_past_it(self, monkeypatch):
        monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 3)
        ClipFactory.create_batch(6)
        paginator = EstimatedCountPaginator(Clip.objects.filter(score__gte=0).order_by("-created_at"), 2)
        with CaptureQueriesContext(connection) as captured:
            count = paginator.count
        assert paginator.count_is_estimate
        assert count >= 4
        assert "LIMIT 4" in sql_of(captured)[0]
        assert sql_of(captured)[1].startswith("EXPLAIN")

    def test_unfiltered_big_table_uses_the_planner_statistics(self, monkeypatch):
        monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 3)
        ClipFactory.create_batch(5)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE clips")
        paginator = EstimatedCountPaginator(Clip.all_objects.order_by("-created_at"), 2)
        with CaptureQueriesContext(connection) as captured:
            assert paginator.count == 5
        assert paginator.count_is_estimate
        assert sql_of(captured) == ["SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('clips')"]

    def test_changelist_says_about_for_an_estimate(self, admin_client, monkeypatch):
        monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 3)
        ClipFactory.create_batch(5)
        response = admin_client.get(changelist_url(Clip))
        assert response.context["cl"].paginator.count_is_estimate
        assert b'class="gv-estimate"' in response.content

    def test_unfiltered_changelist_asks_the_statistics_before_counting(self, admin_client):
        ClipFactory.create_batch(3)
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(changelist_url(Clip, deleted="all"))
        counts = [sql for sql in sql_of(captured) if "COUNT(" in sql.upper()]
        assert counts == ['SELECT COUNT(*) AS "__count" FROM "clips"']  # small table: reltuples said so first
        assert any("pg_class" in sql for sql in sql_of(captured))


class TestDateHierarchy:
    @pytest.fixture
    def clips(self):
        asset = AssetFactory()
        stamps = [
            datetime.datetime(2023, 5, 3, tzinfo=datetime.UTC),
            datetime.datetime(2025, 2, 9, tzinfo=datetime.UTC),
        ]
        return [ClipFactory(asset=asset, created_at=stamp) for stamp in stamps]

    def hierarchy(self, admin_client, **params):
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(changelist_url(Clip, **params))
        assert response.status_code == 200
        assert not any("DISTINCT" in sql or "DATE_TRUNC" in sql.upper() for sql in sql_of(captured))
        return response

    def test_years_span_first_to_last(self, admin_client, clips):
        response = self.hierarchy(admin_client)
        assert b"created_at__year=2023" in response.content
        assert b"created_at__year=2024" in response.content
        assert b"created_at__year=2025" in response.content

    def test_months_of_a_year(self, admin_client, clips):
        ClipFactory(created_at=datetime.datetime(2025, 4, 1, tzinfo=datetime.UTC))
        response = self.hierarchy(admin_client, created_at__year="2025")
        for month in (2, 3, 4):
            assert f"created_at__month={month}".encode() in response.content
        assert b"created_at__month=5" not in response.content

    def test_days_of_a_month(self, admin_client, clips):
        ClipFactory(created_at=datetime.datetime(2025, 2, 11, tzinfo=datetime.UTC))
        response = self.hierarchy(admin_client, created_at__year="2025", created_at__month="2")
        for day in (9, 10, 11):
            assert f"created_at__day={day}".encode() in response.content
        assert [clip.pk for clip in response.context["cl"].result_list] == [
            clip.pk for clip in Clip.objects.filter(created_at__year=2025).order_by("-created_at")
        ]

    def test_a_day(self, admin_client, clips):
        response = self.hierarchy(admin_client, created_at__year="2025", created_at__month="2", created_at__day="9")
        assert [clip.pk for clip in response.context["cl"].result_list] == [clips[1].pk]

    def test_empty_list(self, admin_client):
        assert self.hierarchy(admin_client).status_code == 200


class TestSearch:
    def test_full_uuid(self):
        value = uuid.uuid4()
        assert uuid_search_q(Clip, str(value), ["pk", "asset_id"]) == Q(pk=value) | Q(asset_id=value)

    def test_short_id_is_resolved_to_the_full_ids_it_starts(self):
        asset = AssetFactory(id=uuid.UUID("0123abcd-0000-4000-8000-000000000001"))
        clip = ClipFactory(id=uuid.UUID("0123abcd-ffff-4fff-bfff-ffffffffffff"))
        ClipFactory(id=uuid.UUID("0123abce-0000-4000-8000-000000000000"))
        query = uuid_search_q(Clip, "0123ABCD", ["pk", "asset_id"])
        assert query == Q(pk__in=[clip.pk]) | Q(asset_id__in=[asset.pk])

    def test_short_id_search_finds_a_clip_by_its_asset(self, admin_client):
        asset = AssetFactory(id=uuid.UUID("0123abcd-0000-4000-8000-000000000001"))
        clips = ClipFactory.create_batch(2, asset=asset)
        ClipFactory()
        response = admin_client.get(changelist_url(Clip, q="0123abcd"))
        assert {row.pk for row in response.context["cl"].result_list} == {clip.pk for clip in clips}

    def test_other_text_is_not_an_id(self):
        assert uuid_search_q(Clip, "launch", ["pk"]) is None
        assert uuid_search_q(Clip, "0123abc", ["pk"]) is None

    def test_exact_search_fields_match_exactly(self, admin_client):
        clip = ClipFactory(clip_url="https://cdn.example.com/Clip.mp4")
        ClipFactory(clip_url="https://cdn.example.com/clip.mp4")
        response = admin_client.get(changelist_url(Clip, q="https://cdn.example.com/Clip.mp4"))
        assert [row.pk for row in response.context["cl"].result_list] == [clip.pk]


class TestPrettyJSONField:
    def test_shows_indented_json(self):
        assert PrettyJSONField().prepare_value({"a": [1, 2]}) == '{\n  "a": [\n    1,\n    2\n  ]\n}'

    def test_keeps_unicode_readable(self):
        assert PrettyJSONField().prepare_value({"city": "Zürich"}) == '{\n  "city": "Zürich"\n}'

    def test_malformed_json_is_a_validation_error(self):
        field = PrettyJSONField(required=False)
        with pytest.raises(Exception, match="Enter a valid JSON"):
            field.clean("{'a': 1}")

    def test_wrong_shape_is_a_validation_error(self):
        with pytest.raises(Exception, match="Must be a JSON array"):
            PrettyJSONField(expected_type=list, required=False).clean('{"a": 1}')

    def test_empty_box_saves_the_empty_shape(self):
        assert PrettyJSONField(expected_type=dict, required=False).clean("") == {}
        assert PrettyJSONField(expected_type=list, required=False).clean("") == []

    def test_nullable_column_accepts_empty(self):
        assert PrettyJSONField(required=False).clean("") is None


class TestSite:
    def test_header_and_title(self, admin_client):
        response = admin_client.get("/admin/")
        assert b"GeminiVideo staff console" in response.content

    def test_no_facet_counts_even_when_asked(self, admin_client):
        ClipFactory.create_batch(2)
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(changelist_url(Clip, _facets="True"))
        assert response.status_code == 200
        assert not any("FILTER (WHERE" in sql for sql in sql_of(captured))

    def test_input_filter_keeps_the_other_parameters(self, admin_client):
        ClipFactory()
        response = admin_client.get(changelist_url(Clip, status__exact="SCORED", q="x", owner="a@b.c"))
        html = response.content.decode()
        assert '<input type="hidden" name="status__exact" value="SCORED">' in html
        assert '<input type="hidden" name="q" value="x">' in html
        assert 'name="owner" value="a@b.c"' in html

    def test_deleted_filter_defaults_to_not_deleted(self, admin_client):
        live, gone = ClipFactory(), ClipFactory()
        gone.soft_delete(at=timezone.now())
        rows = admin_client.get(changelist_url(Clip)).context["cl"].result_list
        assert [row.pk for row in rows] == [live.pk]


class TestToolkitHooks:
    def test_change_readonly_fields_are_editable_when_adding_only(self, admin_client):
        asset = AssetFactory()
        assert b'name="status"' in admin_client.get(add_url(Asset)).content
        assert b'name="status"' not in admin_client.get(change_url(Asset, asset.pk)).content

    def test_change_only_fields_are_left_out_of_the_add_form(self, admin_client):
        campaign = CampaignFactory()
        assert b"field-spend_vs_budget" not in admin_client.get(add_url(Campaign)).content
        assert b"field-spend_vs_budget" in admin_client.get(change_url(Campaign, campaign.pk)).content

    def test_status_change_action_is_worded_for_its_model(self, admin_client):
        clip = ClipFactory()
        changelist = admin_client.get(changelist_url(Clip)).content.decode()
        assert "Change status of selected clips" in changelist
        form = run_action(admin_client, Clip, "change_status", [clip])
        assert b"Change clip status" in form.content
        done = run_action(admin_client, Clip, "change_status", [clip], apply="1", status=clip.status)
        assert messages_of(done) == ["Change clip status: done for 1 clip."]
