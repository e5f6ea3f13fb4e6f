"""The admin and the API make the same change the same way: both go through ``media.services``."""

import pytest

from gateway.tests.write_paths import change_in_admin, change_in_api, columns_of
from media.choices import ClipStatus
from media.factories import AssetFactory, ClipFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
# Unique per asset: the twins differ there by construction.
ASSET_STORAGE = ("filename", "gcs_path", "gcs_url")


def twin_assets(user):
    fields = {"user": user, "original_name": "teaser.mp4", "file_size": 5_000_000, "duration": 30.0}
    return AssetFactory(**fields, filename="a.mp4"), AssetFactory(**fields, filename="b.mp4")


def twin_clips(asset):
    fields = {
        "asset": asset,
        "start_time": 0.0,
        "end_time": 15.0,
        "score": None,
        "viral_score": 0.5,
        "engagement_score": 0.5,
        "brand_safety_score": 0.5,
        # PENDING: a score given in the admin or in a PATCH moves it to SCORED alike (``clip_update``).
        "status": ClipStatus.PENDING,
    }
    return ClipFactory(**fields), ClipFactory(**fields)


def test_an_asset_renamed_in_the_admin_and_the_api_is_the_same_row(admin_client, admin_client_api, user):
    in_admin, in_api = twin_assets(user)
    change_in_admin(admin_client, in_admin, {"original_name": "launch.mp4", "codec": "av1", "fps": "60"})
    change_in_api(
        admin_client_api, f"{API}/assets/{in_api.pk}/", {"original_name": "launch.mp4", "codec": "av1", "fps": 60}
    )
    assert columns_of(in_admin, ignore=ASSET_STORAGE) == columns_of(in_api, ignore=ASSET_STORAGE)
    assert columns_of(in_api)["codec"] == "av1"


def test_a_clip_scored_in_the_admin_and_the_api_is_the_same_row(admin_client, admin_client_api, user):
    asset = AssetFactory(user=user)
    in_admin, in_api = twin_clips(asset)
    change_in_admin(admin_client, in_admin, {"score": "0.8", "has_music": "on"})
    change_in_api(admin_client_api, f"{API}/clips/{in_api.pk}/", {"score": 0.8, "has_music": True})
    assert columns_of(in_admin) == columns_of(in_api)
    assert (columns_of(in_api)["score"], columns_of(in_api)["status"]) == (0.8, ClipStatus.SCORED)
