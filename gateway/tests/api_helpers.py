"""Helpers for API tests: a client authenticated as a user, and the ids of a list response.

Test code, so it may import ``users.factories`` (the floor's rule is for ``gateway/`` outside its tests); the
root ``conftest.py`` builds its ``user_client`` and ``admin_client_api`` fixtures with ``client_for``.
"""

from rest_framework.test import APIClient

from users.factories import ApiKeyFactory


def client_for(user) -> APIClient:
    """An API client authenticated with a new API key of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKeyFactory(user=user).secret}")
    return client


def ids(response) -> set[str]:
    """The ids of a (paginated or plain) list response."""
    data = response.json()
    rows = data["results"] if isinstance(data, dict) else data
    return {row["id"] for row in rows}


def assert_exact_and_in(client, url: str, field: str, values: list, make) -> None:
    """``?field=`` and ``?field__in=`` pick rows by value: ``make(value)`` writes a row per value (three of them);
    the first value finds the first row alone, the first two values (comma-separated, or the parameter
    repeated) the first two rows."""
    rows = [str(make(value).pk) for value in values]
    assert ids(client.get(url, {field: values[0]})) == {rows[0]}
    assert ids(client.get(url, {f"{field}__in": f"{values[0]},{values[1]}"})) == {rows[0], rows[1]}
    assert ids(client.get(url, {f"{field}__in": [values[0], values[1]]})) == {rows[0], rows[1]}


def error_body(response) -> dict:
    """An error's JSON body without its ``request_id``, once that is checked to be the response's own id."""
    body = response.json()
    assert body.pop("request_id") == response["X-Request-ID"], "an error body carries the request id"
    return body


def refusal(response, status_code: int = 400) -> dict:
    """The error body (see ``error_body``) of a refused request, once its status is checked to be ``status_code``."""
    assert response.status_code == status_code, response.content[:300]
    return error_body(response)
