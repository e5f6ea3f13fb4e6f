"""Helpers for API tests."""

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
