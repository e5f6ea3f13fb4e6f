"""The user endpoints: users (ADMIN), users/me and API keys."""

import datetime
from functools import partial

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from gateway.tests.api_helpers import client_for, error_body, ids, refusal
from gateway.tests.test_concurrency import run_together
from users.choices import Role
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory
from users.models import ApiKey, User
from users.tests.test_emails import LOOKALIKE_EMAILS

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"
ME = "/api/v1/users/me/"
KEYS = "/api/v1/api-keys/"


def url(base, obj, action=None):
    return f"{base}{obj.pk}/" + (f"{action}/" if action else "")


class TestMe:
    def test_returns_the_caller(self, user, user_client):
        data = user_client.get(ME).json()
        assert (data["id"], data["email"], data["role"]) == (str(user.pk), user.email, "USER")
        assert "password" not in data

    def test_partial_update_of_name_and_settings(self, user, user_client):
        response = user_client.patch(ME, {"name": "New Name", "settings": {"theme": "dark"}})
        assert response.status_code == 200
        user.refresh_from_db()
        assert (user.name, user.settings) == ("New Name", {"theme": "dark"})

    def test_update(self, user, user_client):
        assert user_client.put(ME, {"name": "Put Name"}).status_code == 200
        assert User.objects.get(pk=user.pk).name == "Put Name"

    def test_role_and_email_are_read_only(self, user, user_client):
        user_client.patch(ME, {"role": "ADMIN", "email": "new@example.com", "is_active": False})
        user.refresh_from_db()
        assert (user.role, user.is_active) == (Role.USER, True)
        assert user.email != "new@example.com"

    def test_settings_must_be_an_object(self, user_client):
        response = user_client.patch(ME, {"settings": ["a"]})
        assert response.status_code == 400
        assert "settings" in response.json()


def user_payload(**overrides):
    payload = {"email": "New.Person@Example.com", "name": "New Person", "role": "ENTERPRISE"}
    payload.update(overrides)
    return payload


class TestUsers:
    def test_a_user_lists_only_themselves(self, user, user_client):
        UserFactory()
        assert ids(user_client.get(USERS)) == {str(user.pk)}

    def test_admin_lists_everyone(self, admin_user, admin_client_api):
        others = UserFactory.create_batch(2)
        assert ids(admin_client_api.get(USERS)) == {str(admin_user.pk), *(str(other.pk) for other in others)}

    def test_a_user_retrieves_themselves_but_not_others(self, user, user_client):
        assert user_client.get(url(USERS, user)).status_code == 200
        assert user_client.get(url(USERS, UserFactory())).status_code == 404

    def test_admin_creates_an_api_only_user(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload())
        assert response.status_code == 201
        created = User.objects.get(pk=response.json()["id"])
        assert (created.email, created.role, created.has_usable_password()) == (
            "new.person@example.com",
            Role.ENTERPRISE,
            False,
        )
        assert "password" not in response.json()

    def test_admin_creates_a_user_with_a_password(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(password="a-long-enough-passphrase"))
        assert User.objects.get(pk=response.json()["id"]).check_password("a-long-enough-passphrase")

    def test_weak_password_is_400(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(password="123"))
        assert response.status_code == 400
        assert "password" in response.json()

    def test_a_short_password_is_refused_as_the_schema_says(self, admin_client_api):
        # The schema states the length (minLength), so a fuzzer's schema-valid password is long enough.
        schema = admin_client_api.get("/api/schema/?format=json").json()
        assert schema["components"]["schemas"]["UserRequest"]["properties"]["password"]["minLength"] == 8
        errors = refusal(admin_client_api.post(USERS, user_payload(password="x7#k2!q")))
        assert errors == {"password": ["This password is too short. It must contain at least 8 characters."]}

    def test_email_is_unique_without_regard_to_case(self, admin_client_api):
        UserFactory(email="new.person@example.com")
        errors = refusal(admin_client_api.post(USERS, user_payload()))
        assert errors == {"email": ["A user with this email already exists."]}

    def test_email_of_a_deleted_user_is_still_taken(self, admin_client_api):
        UserFactory(email="new.person@example.com").soft_delete()
        assert "email" in refusal(admin_client_api.post(USERS, user_payload()))

    @pytest.mark.parametrize(
        ("field", "value"), [("email", "not-an-email"), ("role", "OWNER"), ("settings", "x"), ("email", "")]
    )
    def test_invalid_values_are_400_naming_the_field(self, admin_client_api, field, value):
        response = admin_client_api.post(USERS, user_payload(**{field: value}))
        assert response.status_code == 400
        assert field in response.json()

    def test_a_user_cannot_create_users(self, user_client):
        assert user_client.post(USERS, user_payload()).status_code == 403
        assert not User.objects.filter(email="new.person@example.com").exists()

    def test_admin_updates_a_user(self, admin_client_api):
        target = UserFactory()
        response = admin_client_api.put(url(USERS, target), user_payload(email=target.email, role="ADMIN"))
        assert response.status_code == 200
        assert User.objects.get(pk=target.pk).role == Role.ADMIN

    def test_admin_partially_updates_a_user_and_sets_a_password(self, admin_client_api):
        target = UserFactory()
        response = admin_client_api.patch(url(USERS, target), {"is_active": False, "password": "another-long-secret"})
        assert response.status_code == 200
        target.refresh_from_db()
        assert target.is_active is False
        assert target.check_password("another-long-secret")

    def test_a_user_cannot_update_user_rows_even_their_own(self, user, user_client):
        assert user_client.patch(url(USERS, user), {"role": "ADMIN"}).status_code == 403
        assert user_client.put(url(USERS, user), user_payload()).status_code == 403
        assert User.objects.get(pk=user.pk).role == Role.USER

    def test_admin_soft_deletes_a_user_whose_keys_then_fail(self, admin_client_api):
        target = UserFactory()
        key = ApiKeyFactory(user=target)
        assert admin_client_api.delete(url(USERS, target)).status_code == 204
        assert User.all_objects.get(pk=target.pk).deleted_at is not None
        assert APIClient().get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_admin_cannot_delete_themselves(self, admin_user, admin_client_api):
        response = admin_client_api.delete(url(USERS, admin_user))
        assert response.status_code == 400
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_admin_hard_deletes_a_user(self, admin_client_api):
        target = UserFactory()
        assert admin_client_api.delete(url(USERS, target) + "?hard=true").status_code == 204
        assert not User.all_objects.filter(pk=target.pk).exists()

    def test_a_user_cannot_delete_users(self, user, user_client):
        assert user_client.delete(url(USERS, user)).status_code == 403

    def test_admin_restores_a_user(self, admin_client_api):
        target = UserFactory()
        target.soft_delete()
        assert admin_client_api.post(url(USERS, target, "restore")).status_code == 200
        assert User.objects.filter(pk=target.pk).exists()

    def test_a_user_cannot_restore(self, user_client):
        target = UserFactory()
        target.soft_delete()
        assert user_client.post(url(USERS, target, "restore")).status_code == 403

    @pytest.mark.parametrize("rows", [3, 30])
    def test_list_runs_a_fixed_number_of_queries(self, admin_client_api, rows, django_assert_max_num_queries):
        UserFactory.create_batch(rows)
        with django_assert_max_num_queries(4):
            assert admin_client_api.get(USERS, {"page_size": 100}).json()["count"] == rows + 1


class TestUserFilters:
    def test_email_ignores_case(self, admin_client_api):
        target = UserFactory(email="someone@example.com")
        assert ids(admin_client_api.get(USERS, {"email": "SomeOne@example.com"})) == {str(target.pk)}

    def test_role_and_role_in(self, admin_user, admin_client_api):
        enterprise = UserFactory(role=Role.ENTERPRISE)
        UserFactory(role=Role.USER)
        assert ids(admin_client_api.get(USERS, {"role": "ENTERPRISE"})) == {str(enterprise.pk)}
        expected = {str(enterprise.pk), str(admin_user.pk)}
        assert ids(admin_client_api.get(USERS, {"role__in": "ENTERPRISE,ADMIN"})) == expected

    def test_is_active(self, admin_client_api):
        inactive = UserFactory(is_active=False)
        assert ids(admin_client_api.get(USERS, {"is_active": "false"})) == {str(inactive.pk)}

    def test_created_at_range(self, admin_user, admin_client_api):
        old = UserFactory(created_at=timezone.now() - datetime.timedelta(days=30))
        boundary = (timezone.now() - datetime.timedelta(days=1)).isoformat()
        assert ids(admin_client_api.get(USERS, {"created_at_before": boundary})) == {str(old.pk)}
        assert str(old.pk) not in ids(admin_client_api.get(USERS, {"created_at_after": boundary}))

    def test_is_deleted(self, admin_client_api):
        deleted = UserFactory()
        deleted.soft_delete()
        assert ids(admin_client_api.get(USERS, {"is_deleted": "true"})) == {str(deleted.pk)}

    def test_search(self, admin_client_api):
        target = UserFactory(name="Grace Hopper")
        assert ids(admin_client_api.get(USERS, {"search": "hopper"})) == {str(target.pk)}

    def test_ordering_by_email(self, admin_user, admin_client_api):
        AdminUserFactory(email="aaa@example.com")
        rows = admin_client_api.get(USERS, {"ordering": "email"}).json()["results"]
        assert rows[0]["email"] == "aaa@example.com"


class TestApiKeys:
    def test_lists_own_keys_without_secrets(self, user, user_client):
        ApiKeyFactory(user=UserFactory())
        data = user_client.get(KEYS).json()
        assert data["count"] == 1
        row = data["results"][0]
        assert row["user"] == str(user.pk)
        assert not {"key", "hashed_key", "secret"} & set(row)
        assert len(row["prefix"]) == ApiKey.PREFIX_LENGTH

    def test_admin_lists_every_key(self, admin_client_api):
        ApiKeyFactory.create_batch(2)
        assert admin_client_api.get(KEYS).json()["count"] == 3

    def test_create_returns_the_secret_once(self, user, user_client):
        response = user_client.post(KEYS, {"name": "CI"})
        assert response.status_code == 201
        data = response.json()
        secret = data["key"]
        assert secret.startswith(data["prefix"])
        assert data["is_usable"] is True
        assert APIClient().get(ME, HTTP_X_API_KEY=secret).json()["id"] == str(user.pk)
        assert "key" not in user_client.get(f"{KEYS}{data['id']}/").json()
        assert secret not in str(ApiKey.objects.get(pk=data["id"]).__dict__)

    def test_create_with_expiry(self, user_client):
        expires = (timezone.now() + datetime.timedelta(days=30)).isoformat()
        assert user_client.post(KEYS, {"name": "temp", "expires_at": expires}).status_code == 201

    def test_expiry_in_the_past_is_400(self, user_client):
        expires = (timezone.now() - datetime.timedelta(days=1)).isoformat()
        response = user_client.post(KEYS, {"name": "temp", "expires_at": expires})
        assert response.status_code == 400
        assert "expires_at" in response.json()

    @pytest.mark.parametrize("payload", [{}, {"name": ""}, {"name": "x" * 101}])
    def test_name_is_required(self, user_client, payload):
        assert "name" in user_client.post(KEYS, payload).json()

    def test_a_user_cannot_issue_keys_for_someone_else(self, user_client):
        response = user_client.post(KEYS, {"name": "sneaky", "user": str(UserFactory().pk)})
        assert response.status_code == 400
        assert "user" in response.json()

    def test_admin_issues_a_key_for_another_user(self, admin_client_api):
        owner = UserFactory()
        response = admin_client_api.post(KEYS, {"name": "for them", "user": str(owner.pk)})
        assert response.status_code == 201
        assert APIClient().get(ME, HTTP_X_API_KEY=response.json()["key"]).json()["id"] == str(owner.pk)

    def test_rename(self, user, user_client):
        key = ApiKeyFactory(user=user)
        assert user_client.patch(url(KEYS, key), {"name": "renamed"}).json()["name"] == "renamed"
        assert user_client.put(url(KEYS, key), {"name": "again"}).json()["name"] == "again"

    def test_expiry_and_owner_cannot_be_changed(self, user, user_client):
        key = ApiKeyFactory(user=user)
        user_client.patch(url(KEYS, key), {"expires_at": timezone.now().isoformat(), "user": str(UserFactory().pk)})
        key.refresh_from_db()
        assert (key.expires_at, key.user_id) == (None, user.pk)

    def test_the_schema_offers_only_the_name_to_an_update(self, user_client):
        # user and expires_at are read-only once the key exists (ignored when sent back, as above); the schema
        # offered them as writable, so a fuzzer's malformed "user" was "accepted". Found by `make fuzz`.
        schemas = user_client.get("/api/schema/?format=json").json()["components"]["schemas"]
        assert set(schemas["ApiKeyUpdateRequest"]["properties"]) == {"name"}
        assert set(schemas["PatchedApiKeyUpdateRequest"]["properties"]) == {"name"}
        assert {"user", "expires_at"} <= set(schemas["ApiKeyRequest"]["properties"])

    def test_revoke_action(self, user, user_client):
        key = ApiKeyFactory(user=user)
        response = user_client.post(url(KEYS, key, "revoke"))
        assert response.status_code == 200
        assert response.json()["revoked_at"] is not None
        assert response.json()["is_usable"] is False
        assert APIClient().get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_delete_revokes_and_keeps_the_row(self, user, user_client):
        key = ApiKeyFactory(user=user)
        assert user_client.delete(url(KEYS, key)).status_code == 204
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None

    def test_revoking_the_key_in_use_ends_its_access(self, user_client):
        key_id = user_client.get(KEYS).json()["results"][0]["id"]
        assert user_client.post(f"{KEYS}{key_id}/revoke/").status_code == 200
        assert user_client.get(KEYS).status_code == 401

    def test_another_users_key_is_404_everywhere(self, user_client):
        key = ApiKeyFactory()
        assert user_client.get(url(KEYS, key)).status_code == 404
        assert user_client.patch(url(KEYS, key), {"name": "x"}).status_code == 404
        assert user_client.put(url(KEYS, key), {"name": "x"}).status_code == 404
        assert user_client.delete(url(KEYS, key)).status_code == 404
        assert user_client.post(url(KEYS, key, "revoke")).status_code == 404
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None

    @pytest.mark.parametrize("rows", [3, 30])
    def test_list_runs_a_fixed_number_of_queries(self, user, user_client, rows, django_assert_max_num_queries):
        ApiKeyFactory.create_batch(rows, user=user)
        with django_assert_max_num_queries(4):
            assert user_client.get(KEYS, {"page_size": 100}).json()["count"] == rows + 1


class TestApiKeyFilters:
    def test_user_and_user_in(self, admin_client_api):
        first, second = ApiKeyFactory(), ApiKeyFactory()
        assert ids(admin_client_api.get(KEYS, {"user": str(first.user_id)})) == {str(first.pk)}
        both = f"{first.user_id},{second.user_id}"
        assert ids(admin_client_api.get(KEYS, {"user__in": both})) == {str(first.pk), str(second.pk)}

    def test_prefix(self, user, user_client):
        key = ApiKeyFactory(user=user)
        assert ids(user_client.get(KEYS, {"prefix": key.prefix})) == {str(key.pk)}

    def test_is_revoked(self, user, user_client):
        key = ApiKeyFactory(user=user, revoked_at=timezone.now())
        assert ids(user_client.get(KEYS, {"is_revoked": "true"})) == {str(key.pk)}
        assert str(key.pk) not in ids(user_client.get(KEYS, {"is_revoked": "false"}))

    def test_created_at_range(self, user, user_client):
        old = ApiKeyFactory(user=user, created_at=timezone.now() - datetime.timedelta(days=9))
        boundary = (timezone.now() - datetime.timedelta(days=1)).isoformat()
        assert ids(user_client.get(KEYS, {"created_at_before": boundary})) == {str(old.pk)}
        assert str(old.pk) not in ids(user_client.get(KEYS, {"created_at_after": boundary}))

    def test_search_and_ordering(self, user, user_client):
        key = ApiKeyFactory(user=user, name="zz deploy")
        assert ids(user_client.get(KEYS, {"search": "deploy"})) == {str(key.pk)}
        assert user_client.get(KEYS, {"ordering": "-name"}).json()["results"][0]["id"] == str(key.pk)


def test_enterprise_users_are_scoped_like_users():
    enterprise = UserFactory(role=Role.ENTERPRISE)
    client = client_for(enterprise)
    UserFactory()
    assert ids(client.get(USERS)) == {str(enterprise.pk)}


class TestRolesAndConsoleAccess:
    def test_demoting_another_admin_clears_staff_and_superuser(self, admin_client_api):
        other = AdminUserFactory()
        response = admin_client_api.patch(url(USERS, other), {"role": "USER"})
        assert response.status_code == 200
        assert (response.json()["is_staff"], response.json()["is_superuser"]) == (False, False)
        other.refresh_from_db()
        assert (other.role, other.is_staff, other.is_superuser) == (Role.USER, False, False)

    def test_promoting_a_user_gives_staff_and_superuser(self, admin_client_api):
        target = UserFactory()
        response = admin_client_api.patch(url(USERS, target), {"role": "ADMIN"})
        assert (response.json()["is_staff"], response.json()["is_superuser"]) == (True, True)
        target.refresh_from_db()
        assert (target.is_staff, target.is_superuser) == (True, True)

    def test_creating_an_admin_gives_staff_and_superuser(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(role="ADMIN"))
        assert response.status_code == 201
        created = User.objects.get(pk=response.json()["id"])
        assert (created.is_staff, created.is_superuser) == (True, True)

    def test_staff_status_is_read_only(self, admin_client_api):
        target = UserFactory()
        response = admin_client_api.patch(url(USERS, target), {"is_staff": True, "is_superuser": True})
        assert response.status_code == 200
        target.refresh_from_db()
        assert (target.is_staff, target.is_superuser) == (False, False)

    def test_the_last_admin_cannot_demote_themselves(self, admin_user, admin_client_api):
        response = admin_client_api.patch(url(USERS, admin_user), {"role": "USER"})
        assert response.status_code == 400
        assert list(error_body(response)) == ["role"]
        assert "the last active ADMIN" in response.json()["role"][0]
        assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN

    def test_the_last_admin_cannot_be_demoted_by_a_full_update(self, admin_user, admin_client_api):
        response = admin_client_api.put(url(USERS, admin_user), user_payload(email=admin_user.email, role="USER"))
        assert response.status_code == 400
        assert "role" in response.json()

    def test_the_last_admin_cannot_deactivate_themselves(self, admin_user, admin_client_api):
        response = admin_client_api.patch(url(USERS, admin_user), {"is_active": False})
        assert response.status_code == 400
        assert list(error_body(response)) == ["is_active"]
        assert "the last active ADMIN" in response.json()["is_active"][0]
        assert User.objects.get(pk=admin_user.pk).is_active is True

    def test_the_last_admin_cannot_be_soft_deleted(self, admin_user, admin_client_api):
        response = admin_client_api.delete(url(USERS, admin_user))
        assert response.status_code == 400
        assert "the last active ADMIN" in response.json()["non_field_errors"][0]
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_the_last_admin_cannot_be_hard_deleted(self, admin_user, admin_client_api):
        response = admin_client_api.delete(url(USERS, admin_user) + "?hard=true")
        assert response.status_code == 400
        assert "the last active ADMIN" in response.json()["non_field_errors"][0]
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_an_admin_may_step_down_while_another_admin_remains(self, admin_user, admin_client_api):
        AdminUserFactory()
        assert admin_client_api.patch(url(USERS, admin_user), {"role": "USER"}).status_code == 200
        assert User.objects.get(pk=admin_user.pk).role == Role.USER

    def test_deleting_oneself_is_refused_while_another_admin_remains(self, admin_user, admin_client_api):
        AdminUserFactory()
        response = admin_client_api.delete(url(USERS, admin_user))
        assert error_body(response) == {"non_field_errors": ["You cannot delete your own account."]}

    def test_a_demoted_admin_is_sent_to_the_login_page_of_the_console(self, admin_client_api):
        demoted = AdminUserFactory()
        console = Client()
        console.force_login(demoted)
        assert console.get("/admin/").status_code == 200
        assert admin_client_api.patch(url(USERS, demoted), {"role": "USER"}).status_code == 200
        response = console.get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")

    def test_a_demoted_admins_session_is_ended(self, admin_client_api):
        demoted = AdminUserFactory()
        console = Client()
        console.force_login(demoted)
        session_key = console.session.session_key
        admin_client_api.patch(url(USERS, demoted), {"role": "USER"})
        assert not Session.objects.filter(session_key=session_key).exists()

    def test_a_deactivated_users_browsable_api_session_is_ended(self, admin_client_api):
        target = UserFactory()
        browser = Client()
        browser.force_login(target)
        assert browser.get(ME).status_code == 200
        admin_client_api.patch(url(USERS, target), {"is_active": False})
        assert browser.get(ME).status_code in (401, 403)

    def test_a_demoted_admins_key_keeps_working_with_the_user_role(self, admin_client_api):
        demoted = AdminUserFactory()
        key = ApiKeyFactory(user=demoted)
        admin_client_api.patch(url(USERS, demoted), {"role": "USER"})
        assert APIClient().get(ME, HTTP_X_API_KEY=key.secret).json()["role"] == "USER"
        assert ids(APIClient().get(USERS, HTTP_X_API_KEY=key.secret)) == {str(demoted.pk)}
        assert APIClient().post(USERS, user_payload(), HTTP_X_API_KEY=key.secret).status_code == 403

    def test_a_deactivated_users_key_fails(self, admin_client_api):
        target = UserFactory()
        key = ApiKeyFactory(user=target)
        assert admin_client_api.patch(url(USERS, target), {"is_active": False}).status_code == 200
        assert APIClient().get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_a_hard_deleted_users_key_fails(self, admin_client_api):
        target = UserFactory()
        key = ApiKeyFactory(user=target)
        assert admin_client_api.delete(url(USERS, target) + "?hard=true").status_code == 204
        assert APIClient().get(ME, HTTP_X_API_KEY=key.secret).status_code == 401

    def test_updating_ones_profile_keeps_ones_role(self, admin_user):
        client = client_for(admin_user)
        assert client.patch(ME, {"name": "Still Admin"}).status_code == 200
        admin_user.refresh_from_db()
        assert (admin_user.name, admin_user.role, admin_user.is_superuser) == ("Still Admin", Role.ADMIN, True)


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    """Whoever wins, one ADMIN is left; when both requests meet at the lock the loser is told why (400).

    A request that starts only after the other committed is already a USER's (403): that is no race, so the
    race is run again (fresh admins each time) until both requests met at least once.
    """
    met = False
    for _ in range(5):
        first, second = AdminUserFactory(), AdminUserFactory()
        demotions = [
            partial(client_for(actor).patch, url(USERS, target), {"role": "USER"}, format="json")
            for actor, target in ((first, second), (second, first))
        ]

        responses = run_together(demotions)

        codes = sorted(response.status_code for response in responses)
        assert codes in ([200, 400], [200, 403])
        assert User.objects.active_admins().filter(pk__in=[first.pk, second.pk]).count() == 1
        if codes == [200, 400]:
            refused = next(response for response in responses if response.status_code == 400)
            assert "the last active ADMIN" in refused.json()["role"][0]
            met = True
            break
        User.objects.filter(pk__in=[first.pk, second.pk]).delete()
    assert met, "the two requests never met at the lock"


class TestEmailNormalization:
    @pytest.mark.parametrize("email", LOOKALIKE_EMAILS)
    def test_a_lookalike_address_is_400_naming_email(self, admin_client_api, email):
        response = admin_client_api.post(USERS, user_payload(email=email))
        assert response.status_code == 400
        assert list(error_body(response)) == ["email"]
        assert "scripts" in response.json()["email"][0]
        assert not User.all_objects.filter(name="New Person").exists()

    def test_a_domain_with_a_cyrillic_letter_is_400(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(email="boss@gеminivideo.ai"))
        assert error_body(response) == {
            "email": [
                "The domain label “gеminivideo” mixes letters of different scripts (Cyrillic, Latin), "
                "as lookalike domains do."
            ]
        }

    def test_a_domain_with_a_greek_letter_is_400(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(email="boss@geminivideο.ai"))
        assert response.status_code == 400
        assert "Greek, Latin" in response.json()["email"][0]

    def test_the_punycode_form_of_a_mixed_domain_is_400(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(email="boss@xn--gminivideo-ksi.ai"))
        assert response.status_code == 400
        assert "xn--gminivideo-ksi (gеminivideo)" in response.json()["email"][0]

    def test_invalid_punycode_is_400(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(email="boss@xn--abc-.ai"))
        assert response.status_code == 400
        assert "not valid punycode" in response.json()["email"][0]

    def test_the_fullwidth_spelling_of_a_taken_email_is_a_duplicate(self, admin_client_api):
        UserFactory(email="boss@geminivideo.ai")
        response = admin_client_api.post(USERS, user_payload(email="ｂｏｓｓ@ｇｅｍｉｎｉｖｉｄｅｏ．ａｉ"))
        assert response.status_code == 400
        assert error_body(response) == {"email": ["A user with this email already exists."]}

    def test_the_upper_case_spelling_of_a_taken_email_is_a_duplicate(self, admin_client_api):
        UserFactory(email="boss@geminivideo.ai")
        response = admin_client_api.post(USERS, user_payload(email="BOSS@GEMINIVIDEO.AI"))
        assert error_body(response) == {"email": ["A user with this email already exists."]}

    def test_a_non_latin_domain_is_stored_as_punycode(self, admin_client_api):
        response = admin_client_api.post(USERS, user_payload(email="ivan@пример.рф"))
        assert response.status_code == 201
        assert response.json()["email"] == "ivan@xn--e1afmkfd.xn--p1ai"
        assert User.objects.get(pk=response.json()["id"]).email == "ivan@xn--e1afmkfd.xn--p1ai"

    def test_the_unicode_and_punycode_spellings_of_a_domain_are_one_address(self, admin_client_api):
        assert admin_client_api.post(USERS, user_payload(email="ivan@пример.рф")).status_code == 201
        response = admin_client_api.post(USERS, user_payload(email="IVAN@xn--e1afmkfd.XN--P1AI"))
        assert error_body(response) == {"email": ["A user with this email already exists."]}

    def test_changing_an_email_to_a_lookalike_is_400(self, admin_client_api):
        target = UserFactory()
        response = admin_client_api.patch(url(USERS, target), {"email": "boss@gеminivideo.ai"})
        assert response.status_code == 400
        assert "email" in response.json()

    def test_changing_an_email_to_another_spelling_of_a_taken_one_is_400(self, admin_client_api):
        UserFactory(email="boss@geminivideo.ai")
        response = admin_client_api.patch(url(USERS, UserFactory()), {"email": "Boss@GeminiVideo.AI"})
        assert error_body(response) == {"email": ["A user with this email already exists."]}

    def test_the_email_filter_finds_the_unicode_spelling(self, admin_client_api):
        target = UserFactory(email="ivan@xn--e1afmkfd.xn--p1ai")
        assert ids(admin_client_api.get(USERS, {"email": "Ivan@Пример.рф"})) == {str(target.pk)}
