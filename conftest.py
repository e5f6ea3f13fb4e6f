"""Fixtures every test may want."""

import pytest
from rest_framework.test import APIClient

from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user_client(user):
    """An API client authenticated with an API key of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKeyFactory(user=user).secret}")
    return client


@pytest.fixture
def admin_client_api(admin_user):
    """An API client authenticated with an API key of an ADMIN."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKeyFactory(user=admin_user).secret}")
    return client
