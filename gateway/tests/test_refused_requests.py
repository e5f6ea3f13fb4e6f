"""Requests Django (or gunicorn, in front of it) refuses before any API view runs.

Under ``/api/`` Django's own refusals answer in the API's JSON shape (``handler400``/``handler403`` of
gateway/urls.py); elsewhere they keep Django's pages. A ``Host`` header not in ``ALLOWED_HOSTS`` is logged
as one warning line. Over-long request lines and headers never reach Django: gunicorn refuses them with
its own answer (docs/API.md, "Limits"); every request line the schema allows is short enough.
"""

import logging
import socket
from urllib.parse import urlencode

import orjson
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import include, path
from gunicorn import util
from gunicorn.config import Config

from gateway import urls as project_urls
from gateway.gunicorn_worker import ErrorPage, json_error
from gateway.tests.api_helpers import error_body
from knowledge.api.views import MAX_Q_LENGTH
from users.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

EVIL_HOST = "evil.example"


def forbidding_view(request):
    raise PermissionDenied


urlpatterns = [
    path("api/v1/forbidden/", forbidding_view),
    path("admin/forbidden/", forbidding_view),
    path("", include("gateway.urls")),
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


class TestDisallowedHost:
    def test_is_a_json_400_under_the_api(self):
        response = Client(HTTP_HOST=EVIL_HOST).get("/api/v1/assets/")
        assert response.status_code == 400
        assert error_body(response) == {"detail": "Invalid Host header."}

    def test_is_django_s_page_elsewhere(self):
        response = Client(HTTP_HOST=EVIL_HOST).get("/admin/")
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")

    def test_is_logged_as_one_warning_without_a_traceback(self, caplog):
        with caplog.at_level(logging.INFO):
            Client(HTTP_HOST=EVIL_HOST).get("/api/v1/assets/")
        records = [record for record in caplog.records if record.name == "django.security.DisallowedHost"]
        assert [(record.levelname, record.exc_info) for record in records] == [("WARNING", None)]


@pytest.mark.urls(__name__)
class TestPermissionDeniedOutsideAView:
    def test_is_a_json_403_under_the_api(self, client):
        response = client.get("/api/v1/forbidden/")
        assert response.status_code == 403
        assert error_body(response) == {"detail": "You do not have permission to perform this action."}

    def test_is_django_s_page_elsewhere(self, client):
        response = client.get("/admin/forbidden/")
        assert response.status_code == 403
        assert response["Content-Type"].startswith("text/html")


def test_gunicorn_header_limits_are_the_documented_ones():
    config = Config()
    assert (config.limit_request_field_size, config.limit_request_fields) == (8190, 100)


@pytest.mark.django_db(transaction=True)
class TestRequestLineUnderGunicorn:
    """gunicorn.conf.py's ``limit_request_line``: every query string the schema allows reaches the API."""

    def test_the_longest_q_the_schema_allows_is_answered_by_the_api(self, production_server):
        key = ApiKeyFactory().secret
        # Four UTF-8 bytes per character, each percent-encoded: 6,000 bytes of query string.
        path = "/api/v1/knowledge-documents/?" + urlencode({"q": "\N{MUSICAL SYMBOL G CLEF}" * MAX_Q_LENGTH})
        status, headers, body = production_server.request("GET", path, headers={"X-API-Key": key})
        assert (status, headers["Content-Type"], orjson.loads(body)["results"]) == (200, "application/json", [])


class TestGunicornsOwnRefusalsAreJson:
    """What gunicorn refuses before Django, answered in JSON by the project's worker (gateway/gunicorn_worker.py)."""

    def test_a_longer_request_line_is_a_414(self, production_server):
        status, headers, body = production_server.request("GET", "/api/v1/assets/?search=" + "x" * 8190)
        assert (status, headers["Content-Type"]) == (414, "application/json")
        assert orjson.loads(body)["detail"].startswith("URI Too Long: ")

    def test_too_many_headers_are_a_431(self, production_server):
        extra = {f"X-Extra-{number}": "1" for number in range(101)}
        status, headers, body = production_server.request("GET", "/api/v1/assets/", headers=extra)
        assert (status, headers["Content-Type"]) == (431, "application/json")
        assert orjson.loads(body)["detail"].startswith("Request Header Fields Too Large: ")

    def test_a_malformed_header_is_a_400(self, production_server):
        with socket.create_connection(("127.0.0.1", production_server.port), timeout=30) as client:
            client.sendall(b"GET /api/v1/assets/ HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert b"\r\nContent-Type: application/json\r\n" in head
        assert orjson.loads(body)["detail"].startswith("Bad Request: ")


def test_gunicorn_s_page_becomes_json_with_its_message_unescaped():
    page = ErrorPage()
    util.write_error(page, 400, "Bad Request", "Invalid header <name> & 'value'")
    head, _, body = json_error(page.data).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request"
    assert orjson.loads(body) == {"detail": "Bad Request: Invalid header <name> & 'value'"}
    assert f"Content-Length: {len(body)}".encode() in head


def test_a_page_of_another_shape_is_sent_as_it_is():
    assert json_error(b"HTTP/1.1 500 Oops\r\n\r\nsomething else") == b"HTTP/1.1 500 Oops\r\n\r\nsomething else"
