"""Request bodies sent with ``Transfer-Encoding: chunked`` are read (gunicorn) or refused with a 411 (runserver).

Sent for real, in several chunks, by ``http.client`` to the servers the project runs under; see
``gateway/chunked.py``.
"""

import orjson
import pytest
from django.conf import settings

from campaigns.factories import CampaignFactory
from campaigns.models import Campaign
from gateway.chunked import LENGTH_REQUIRED_DETAIL
from users.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def send_chunked(server, method: str, path: str, payload, *, key: str, chunk_size: int = 7):
    """(status, JSON body) of a request whose body goes in ``chunk_size``-byte chunks, with no Content-Length."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    chunks = (body[start : start + chunk_size] for start in range(0, len(body), chunk_size))
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    connection = server.connect()
    try:
        connection.request(method, path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, orjson.loads(response.read() or b"null")
    finally:
        connection.close()


@pytest.fixture
def owner():
    user = UserFactory()
    return user, ApiKeyFactory(user=user).secret


def test_a_chunked_post_creates_the_row_under_the_production_server(production_server, owner):
    user, key = owner
    status, body = send_chunked(
        production_server, "POST", "/api/v1/campaigns/", {"name": "sent in chunks", "budget": "100.00"}, key=key
    )
    assert status == 201, body
    assert Campaign.objects.get(pk=body["id"]).name == "sent in chunks"


def test_a_chunked_patch_changes_the_row_under_the_production_server(production_server, owner):
    user, key = owner
    campaign = CampaignFactory(user=user, description="before")
    status, body = send_chunked(
        production_server, "PATCH", f"/api/v1/campaigns/{campaign.pk}/", {"description": "after"}, key=key
    )
    assert status == 200, body
    assert body["description"] == "after"
    campaign.refresh_from_db()
    assert campaign.description == "after"


def test_a_chunked_body_over_the_size_limit_is_a_413(production_server, owner):
    user, key = owner
    campaign = CampaignFactory(user=user, description="before")
    oversized = b'{"description": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    status, body = send_chunked(
        production_server, "PATCH", f"/api/v1/campaigns/{campaign.pk}/", oversized, key=key, chunk_size=65536
    )
    assert status == 413, body
    assert "detail" in body
    campaign.refresh_from_db()
    assert campaign.description == "before"


def test_a_chunked_patch_is_refused_with_411_by_the_development_server(development_server, owner):
    user, key = owner
    campaign = CampaignFactory(user=user, description="before")
    status, body = send_chunked(
        development_server, "PATCH", f"/api/v1/campaigns/{campaign.pk}/", {"description": "after"}, key=key
    )
    assert status == 411
    assert body == {"detail": LENGTH_REQUIRED_DETAIL}
    campaign.refresh_from_db()
    assert campaign.description == "before"


def test_the_development_server_still_reads_a_body_with_a_length(development_server, owner):
    user, key = owner
    campaign = CampaignFactory(user=user, description="before")
    status, _, content = development_server.request(
        "PATCH",
        f"/api/v1/campaigns/{campaign.pk}/",
        body=orjson.dumps({"description": "after"}),
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )
    assert status == 200, content
    campaign.refresh_from_db()
    assert campaign.description == "after"
