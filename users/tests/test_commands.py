import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from users.factories import ApiKeyFactory, UserFactory
from users.models import ApiKey
from users.services import api_key_authenticate

pytestmark = pytest.mark.django_db


def createapikey(*args, **options) -> tuple[str, str]:
    """Run createapikey; return (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("createapikey", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def revokeapikey(prefix: str) -> str:
    out = io.StringIO()
    call_command("revokeapikey", prefix, stdout=out)
    return out.getvalue()


def test_createapikey_prints_a_key_that_authenticates_as_the_user():
    user = UserFactory()
    out, _ = createapikey(user.email)
    api_key = api_key_authenticate(out.strip())
    assert api_key is not None
    assert api_key.user == user


def test_createapikey_prints_only_the_key_on_stdout_and_explains_on_stderr():
    user = UserFactory()
    out, err = createapikey(user.email)
    assert len(out.splitlines()) == 1
    assert user.email in err
    assert "cannot be shown again" in err


def test_createapikey_stores_only_a_hash_of_the_key():
    out, _ = createapikey(UserFactory().email)
    api_key = ApiKey.objects.get()
    assert out.strip() not in api_key.hashed_key
    assert api_key.verify(out.strip())


def test_createapikey_matches_the_email_case_insensitively():
    user = UserFactory(email="someone@example.com")
    createapikey("SomeOne@Example.COM")
    assert ApiKey.objects.get().user == user


def test_createapikey_uses_the_given_name():
    createapikey(UserFactory().email, name="CI pipeline")
    assert ApiKey.objects.get().name == "CI pipeline"


def test_createapikey_without_expiry_never_expires():
    createapikey(UserFactory().email)
    assert ApiKey.objects.get().expires_at is None


def test_createapikey_expires_after_the_given_days():
    createapikey(UserFactory().email, expires_in_days=30)
    expected = timezone.now() + timedelta(days=30)
    assert abs(ApiKey.objects.get().expires_at - expected) < timedelta(minutes=1)


def test_createapikey_rejects_an_unknown_email():
    with pytest.raises(CommandError, match="No user with email 'nobody@example.com'"):
        createapikey("nobody@example.com")


def test_createapikey_rejects_a_soft_deleted_user():
    user = UserFactory()
    user.soft_delete()
    with pytest.raises(CommandError, match="No user with email"):
        createapikey(user.email)
    assert not ApiKey.objects.exists()


def test_createapikey_rejects_an_inactive_user():
    user = UserFactory(is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        createapikey(user.email)
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("days", [0, -5])
def test_createapikey_rejects_an_expiry_below_one_day(days):
    with pytest.raises(CommandError, match="--expires-in-days"):
        createapikey(UserFactory().email, expires_in_days=days)
    assert not ApiKey.objects.exists()


def test_revokeapikey_revokes_the_key_with_that_prefix():
    api_key = ApiKeyFactory()
    output = revokeapikey(api_key.prefix)
    assert api_key_authenticate(api_key.secret) is None
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert f"Revoked API key {api_key.prefix}" in output


def test_revokeapikey_accepts_the_whole_key():
    api_key = ApiKeyFactory()
    revokeapikey(api_key.secret)
    assert api_key_authenticate(api_key.secret) is None


def test_revokeapikey_leaves_the_users_other_keys_working():
    api_key = ApiKeyFactory()
    other = ApiKeyFactory(user=api_key.user)
    revokeapikey(api_key.prefix)
    assert api_key_authenticate(other.secret) is not None


def test_revokeapikey_twice_keeps_the_first_revocation_time():
    api_key = ApiKeyFactory()
    revokeapikey(api_key.prefix)
    first = ApiKey.objects.get(pk=api_key.pk).revoked_at
    output = revokeapikey(api_key.prefix)
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == first
    assert "already revoked" in output


def test_revokeapikey_rejects_an_unknown_prefix():
    with pytest.raises(CommandError, match="No API key with prefix 'gv_unknown00'"):
        revokeapikey("gv_unknown00")


def test_revokeapikey_rejects_a_prefix_too_short_to_identify_a_key():
    api_key = ApiKeyFactory()
    with pytest.raises(CommandError, match="too short"):
        revokeapikey(api_key.prefix[:6])
    assert api_key_authenticate(api_key.secret) is not None


def test_createapikey_then_revokeapikey_round_trip():
    out, _ = createapikey(UserFactory().email)
    revokeapikey(ApiKey.prefix_of(out.strip()))
    assert api_key_authenticate(out.strip()) is None
