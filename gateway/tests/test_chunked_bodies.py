"""Request bodies sent with ``Transfer-Encoding: chunked`` are read (gunicorn) or refused with a 411 (runserver).

Sent for real, in several chunks, by ``http.client`` to the servers the project runs under; see
``gateway/chunked.py``.
"""

import http.client

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
        try:
            connection.request(method, path, body=chunks, headers=headers, encode_chunked=True)
        except (BrokenPipeError, ConnectionResetError):
            # A server refusing the body (the 411) may answer and close before the last chunks are sent, as HTTP
            # allows: the answer is on the socket already, read as any client that keeps reading would.
            response = http.client.HTTPResponse(connection.sock, method=method)
            response.begin()
        else:
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


def test_a_chunked_body_the_development_server_stops_reading_still_gets_its_411(development_server, owner):
    """20 MB in 64 KB chunks: more than the sockets buffer, so the server answers and closes while the client is
    still sending (the client's send fails with a broken pipe); the 411 is on the socket all the same."""
    user, key = owner
    campaign = CampaignFactory(user=user, description="before")
    payload = {"description": "x" * 20_000_000}
    status, body = send_chunked(
        development_server, "PATCH", f"/api/v1/campaigns/{campaign.pk}/", payload, key=key, chunk_size=65_536
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
