"""The console's forms report a value the CHECK constraints refuse on its field, in the API's words.

``gateway/admin/api_rules.py``: each admin's form takes the limits and ``ranges`` of its app's API serializer.
Each case here is a value that breaks one CHECK constraint; the admin's message must be the one the API's
serializer gives for the same value, on the same field.
"""

import pytest

from campaigns.api.serializers import CampaignSerializer, ConversionSerializer, ExperimentSerializer
from campaigns.factories import CampaignFactory, ConversionFactory, ExperimentFactory
from gateway.tests.admin_helpers import assert_form_error, post_change_form
from media.api.serializers import AssetSerializer, ClipSerializer, PerformanceMetricSerializer, PredictionSerializer
from media.factories import AssetFactory, ClipFactory, PerformanceMetricFactory, PredictionFactory

pytestmark = pytest.mark.django_db

# (factory, serializer, field, value in the form, value in a JSON body): one broken CHECK constraint each.
CASES = [
    (AssetFactory, AssetSerializer, "file_size", "-1", -1),
    (AssetFactory, AssetSerializer, "duration", "-1", -1.0),
    (AssetFactory, AssetSerializer, "width", "0", 0),
    (AssetFactory, AssetSerializer, "height", "0", 0),
    (AssetFactory, AssetSerializer, "fps", "0", 0.0),
    (AssetFactory, AssetSerializer, "bitrate", "-1", -1),
    (ClipFactory, ClipSerializer, "start_time", "-1", -1.0),
    (ClipFactory, ClipSerializer, "end_time", "0", 0.0),
    (ClipFactory, ClipSerializer, "face_count", "-1", -1),
    (ClipFactory, ClipSerializer, "rank", "0", 0),
    (ClipFactory, ClipSerializer, "score", "1.5", 1.5),
    (ClipFactory, ClipSerializer, "viral_score", "-0.1", -0.1),
    (ClipFactory, ClipSerializer, "engagement_score", "2", 2.0),
    (ClipFactory, ClipSerializer, "brand_safety_score", "-1", -1.0),
    (PredictionFactory, PredictionSerializer, "confidence", "1.5", 1.5),
    (PerformanceMetricFactory, PerformanceMetricSerializer, "impressions", "-1", -1),
    (PerformanceMetricFactory, PerformanceMetricSerializer, "clicks", "-1", -1),
    (PerformanceMetricFactory, PerformanceMetricSerializer, "conversions", "-1", -1),
    (PerformanceMetricFactory, PerformanceMetricSerializer, "spend", "-1", "-1"),
    (PerformanceMetricFactory, PerformanceMetricSerializer, "revenue", "-1", "-1"),
    (CampaignFactory, CampaignSerializer, "budget", "-1", "-1"),
    (CampaignFactory, CampaignSerializer, "daily_budget", "999999", "999999"),
    (CampaignFactory, CampaignSerializer, "currency", "usd", "usd"),
    (ExperimentFactory, ExperimentSerializer, "confidence", "2", 2.0),
    (ConversionFactory, ConversionSerializer, "value", "-1", "-1"),
    (ConversionFactory, ConversionSerializer, "currency", "usd", "usd"),
]


def api_message(serializer_class, obj, field: str, value) -> list[str]:
    serializer = serializer_class(obj, data={field: value}, partial=True)
    assert not serializer.is_valid()
    return [str(message) for message in serializer.errors[field]]


@pytest.mark.parametrize(
    ("factory", "serializer_class", "field", "form_value", "json_value"),
    CASES,
    ids=[f"{case[1].Meta.model.__name__}.{case[2]}" for case in CASES],
)
def test_a_constraint_breaking_value_is_the_apis_message_on_its_field(
    admin_client, factory, serializer_class, field, form_value, json_value
):
    obj = factory()
    response = post_change_form(admin_client, obj, **{field: form_value})
    assert assert_form_error(response, field) == api_message(serializer_class, obj, field, json_value)
    assert "is violated" not in response.content.decode()


def test_an_out_of_range_clip_score_says_so_on_the_field(admin_client):
    response = post_change_form(admin_client, ClipFactory(), score="1.5")
    assert assert_form_error(response, "score") == ["Ensure this value is less than or equal to 1.0."]
    assert "Constraint “media_clip_score_in_unit_interval” is violated." not in response.content.decode()


def test_a_schedule_ending_before_it_starts_is_reported_on_the_end_date(admin_client):
    campaign = CampaignFactory()
    response = post_change_form(admin_client, campaign, end_date_0="2000-01-01", end_date_1="00:00:00")
    assert assert_form_error(response, "end_date") == ["Must not be before start_date."]


def test_a_valid_value_still_saves(admin_client):
    clip = ClipFactory()
    response = post_change_form(admin_client, clip, score="0.5")
    assert response.status_code == 302
    clip.refresh_from_db()
    assert clip.score == 0.5
