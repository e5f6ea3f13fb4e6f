"""The header of every console page: no "View site" link to a page that does not exist, and a favicon."""

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

ICON = "gateway/favicon.svg"


def test_no_view_site_link(admin_client):
    assert b"View site" not in admin_client.get("/admin/").content


def test_every_page_names_the_favicon(admin_client):
    assert f'<link rel="icon" href="/static/{ICON}"'.encode() in admin_client.get("/admin/media/clip/").content


def test_the_favicon_is_a_static_file():
    assert finders.find(ICON) is not None


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url == f"/static/{ICON}"
