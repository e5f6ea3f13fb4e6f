"""The users services: console access follows the role, the last active ADMIN stays, sessions end at once."""

import threading

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection
from django.test import Client

from users.choices import Role
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory
from users.models import ApiKey, User
from users.services import (
    user_admins_lock,
    user_check_last_admin,
    user_create,
    user_hard_delete,
    user_sessions_end,
    user_soft_delete,
    user_update,
)

pytestmark = pytest.mark.django_db


def logged_in(user) -> str:
    """Log ``user`` in with a fresh test client; the key of the session it got."""
    client = Client()
    client.force_login(user)
    return client.session.session_key


def has_session(session_key: str) -> bool:
    return Session.objects.filter(session_key=session_key).exists()


def error_fields(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


class TestUserCreate:
    def test_an_admin_gets_staff_and_superuser(self):
        user = user_create(email="new@example.com", role=Role.ADMIN)
        user.refresh_from_db()
        assert (user.is_staff, user.is_superuser) == (True, True)

    @pytest.mark.parametrize("role", [Role.USER, Role.ENTERPRISE])
    def test_other_roles_get_no_console_access(self, role):
        user = user_create(email="new@example.com", role=role)
        user.refresh_from_db()
        assert (user.is_staff, user.is_superuser) == (False, False)

    def test_without_a_password_the_user_is_api_only(self):
        assert not user_create(email="new@example.com").has_usable_password()

    def test_with_a_password_the_user_can_log_in(self):
        assert user_create(email="new@example.com", password="a-long-passphrase").check_password("a-long-passphrase")

    def test_stores_the_email_in_canonical_form(self):
        user = user_create(email="ＢＯＳＳ@Пример.РФ")
        assert User.objects.get(pk=user.pk).email == "boss@xn--e1afmkfd.xn--p1ai"

    def test_refuses_a_domain_mixing_scripts(self):
        with pytest.raises(ValidationError) as excinfo:
            user_create(email="boss@gеminivideo.ai")  # Cyrillic "е"
        assert error_fields(excinfo) == {"email"}
        assert not User.all_objects.exists()

    def test_refuses_another_spelling_of_a_taken_email(self):
        UserFactory(email="boss@geminivideo.ai")
        with pytest.raises(ValidationError) as excinfo:
            user_create(email="Boss@GEMINIVIDEO.ai")
        assert excinfo.value.message_dict == {"email": ["A user with this email already exists."]}

    def test_refuses_the_email_of_a_deleted_user(self):
        UserFactory(email="boss@geminivideo.ai").soft_delete()
        with pytest.raises(ValidationError) as excinfo:
            user_create(email="boss@geminivideo.ai")
        assert error_fields(excinfo) == {"email"}

    def test_refuses_an_unknown_role(self):
        with pytest.raises(ValidationError) as excinfo:
            user_create(email="new@example.com", role="OWNER")
        assert error_fields(excinfo) == {"role"}


class TestUserUpdateRoles:
    def test_demoting_an_admin_clears_staff_and_superuser(self):
        AdminUserFactory()
        admin = AdminUserFactory()
        user_update(user=admin, role=Role.USER)
        admin.refresh_from_db()
        assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.USER, False, False)

    def test_promoting_a_user_sets_staff_and_superuser(self):
        user = UserFactory()
        user_update(user=user, role=Role.ADMIN)
        user.refresh_from_db()
        assert (user.is_staff, user.is_superuser) == (True, True)

    def test_any_role_change_takes_console_access_from_a_non_admin(self):
        staff = UserFactory(is_staff=True)  # staff without ADMIN: made before console access followed the role
        user_update(user=staff, role=Role.ENTERPRISE)
        staff.refresh_from_db()
        assert staff.is_staff is False

    def test_the_instance_gets_the_written_row(self):
        AdminUserFactory()
        admin = AdminUserFactory()
        returned = user_update(user=admin, role=Role.USER)
        assert returned is admin
        assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.USER, False, False)

    def test_staff_and_superuser_cannot_be_set_on_their_own(self):
        user = UserFactory()
        with pytest.raises(TypeError, match="is_staff and is_superuser follow the role"):
            user_update(user=user, is_staff=True)

    def test_an_unknown_role_names_the_field(self):
        with pytest.raises(ValidationError) as excinfo:
            user_update(user=UserFactory(), role="OWNER")
        assert error_fields(excinfo) == {"role"}


class TestLastAdmin:
    def test_the_last_active_admin_cannot_be_demoted(self):
        admin = AdminUserFactory()
        with pytest.raises(ValidationError) as excinfo:
            user_update(user=admin, role=Role.USER)
        assert "the last active ADMIN" in excinfo.value.message_dict["role"][0]
        admin.refresh_from_db()
        assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.ADMIN, True, True)

    def test_the_last_active_admin_cannot_be_deactivated(self):
        admin = AdminUserFactory()
        with pytest.raises(ValidationError) as excinfo:
            user_update(user=admin, is_active=False)
        assert "the last active ADMIN" in excinfo.value.message_dict["is_active"][0]
        assert User.objects.get(pk=admin.pk).is_active is True

    @pytest.mark.parametrize("delete", [user_soft_delete, user_hard_delete], ids=["soft", "hard"])
    def test_the_last_active_admin_cannot_be_deleted(self, delete):
        admin = AdminUserFactory()
        with pytest.raises(ValidationError) as excinfo:
            delete(user=admin)
        assert "the last active ADMIN" in excinfo.value.message_dict[NON_FIELD_ERRORS][0]
        assert User.objects.filter(pk=admin.pk).exists()

    def test_an_admin_may_be_demoted_while_another_active_admin_remains(self):
        AdminUserFactory()
        admin = AdminUserFactory()
        user_update(user=admin, role=Role.USER)
        assert User.objects.get(pk=admin.pk).role == Role.USER

    def test_an_inactive_admin_does_not_count_as_the_remaining_one(self):
        AdminUserFactory(is_active=False)
        with pytest.raises(ValidationError):
            user_update(user=AdminUserFactory(), role=Role.USER)

    def test_a_deleted_admin_does_not_count_as_the_remaining_one(self):
        AdminUserFactory().soft_delete()
        with pytest.raises(ValidationError):
            user_update(user=AdminUserFactory(), is_active=False)

    def test_a_stale_instance_is_checked_against_the_row(self):
        """The check reads the locked row, not the caller's copy (which still says USER here)."""
        admin = AdminUserFactory()
        stale = User.objects.get(pk=admin.pk)
        stale.role = Role.USER
        with pytest.raises(ValidationError):
            user_update(user=stale, role=Role.USER)

    def test_keeping_the_role_of_the_last_admin_is_allowed(self):
        admin = AdminUserFactory()
        user_update(user=admin, role=Role.ADMIN, is_active=True, name="Still here")
        assert User.objects.get(pk=admin.pk).name == "Still here"

    def test_the_check_ignores_users_who_are_not_active_admins(self):
        user_check_last_admin(user=UserFactory(), role=Role.USER, is_active=False, deleting=True)

    def test_the_admin_lock_returns_the_active_admins_in_id_order(self):
        admins = [AdminUserFactory(), AdminUserFactory()]
        UserFactory()
        AdminUserFactory(is_active=False)
        assert user_admins_lock() == sorted(admin.pk for admin in admins)


class TestUserUpdateFields:
    def test_writes_only_the_given_fields(self):
        user = UserFactory(name="Old")
        User.all_objects.filter(pk=user.pk).update(settings={"theme": "dark"})  # a write the instance has not seen
        user_update(user=user, name="New")
        user.refresh_from_db()
        assert (user.name, user.settings) == ("New", {"theme": "dark"})

    def test_sets_a_password(self):
        user = UserFactory()
        user_update(user=user, password="another-long-secret")
        assert User.objects.get(pk=user.pk).check_password("another-long-secret")

    def test_a_password_of_none_is_unusable(self):
        user = UserFactory()
        user_update(user=user, password=None)
        assert not User.objects.get(pk=user.pk).has_usable_password()

    def test_stores_a_new_email_in_canonical_form(self):
        user = UserFactory()
        user_update(user=user, email="Ivan@Пример.рф")
        assert User.objects.get(pk=user.pk).email == "ivan@xn--e1afmkfd.xn--p1ai"

    def test_refuses_a_lookalike_email(self):
        user = UserFactory()
        with pytest.raises(ValidationError) as excinfo:
            user_update(user=user, email="boss@geminivideο.ai")  # Greek "ο"
        assert error_fields(excinfo) == {"email"}

    def test_refuses_the_email_of_another_user(self):
        UserFactory(email="taken@example.com")
        with pytest.raises(ValidationError) as excinfo:
            user_update(user=UserFactory(), email="TAKEN@example.com")
        assert error_fields(excinfo) == {"email"}

    def test_keeping_ones_own_email_is_fine(self):
        user = UserFactory(email="me@example.com")
        user_update(user=user, email="Me@Example.com", name="Me")
        assert User.objects.get(pk=user.pk).name == "Me"


class TestSessions:
    def test_demotion_ends_the_users_sessions(self):
        AdminUserFactory()
        admin = AdminUserFactory()
        session = logged_in(admin)
        user_update(user=admin, role=Role.USER)
        assert not has_session(session)

    def test_deactivation_ends_the_users_sessions(self):
        user = UserFactory()
        session = logged_in(user)
        user_update(user=user, is_active=False)
        assert not has_session(session)

    def test_soft_delete_ends_the_users_sessions(self):
        user = UserFactory()
        session = logged_in(user)
        user_soft_delete(user=user)
        assert not has_session(session)

    def test_hard_delete_ends_the_users_sessions(self):
        user = UserFactory()
        session = logged_in(user)
        user_hard_delete(user=user)
        assert not has_session(session)

    def test_a_change_that_keeps_access_keeps_the_sessions(self):
        admin = AdminUserFactory()
        session = logged_in(admin)
        user_update(user=admin, name="Renamed", role=Role.ADMIN)
        assert has_session(session)

    def test_only_the_users_own_sessions_end(self):
        user, other = UserFactory(), UserFactory()
        sessions = [logged_in(user), logged_in(user)]
        kept = logged_in(other)
        assert user_sessions_end(user=user) == 2
        assert not any(has_session(session) for session in sessions)
        assert has_session(kept)


class TestUserDelete:
    def test_soft_delete_hides_the_user_and_stamps_the_instance(self):
        user = UserFactory()
        user_soft_delete(user=user)
        assert user.deleted_at is not None
        assert not User.objects.filter(pk=user.pk).exists()

    def test_soft_deleting_a_deleted_user_keeps_the_first_time(self):
        user = UserFactory()
        user_soft_delete(user=user)
        first = user.deleted_at
        user_soft_delete(user=User.all_objects.get(pk=user.pk))
        assert User.all_objects.get(pk=user.pk).deleted_at == first

    def test_hard_delete_removes_the_user_and_their_keys(self):
        key = ApiKeyFactory()
        user_hard_delete(user=key.user)
        assert not User.all_objects.filter(pk=key.user_id).exists()
        assert not ApiKey.objects.filter(pk=key.pk).exists()

    @pytest.mark.parametrize("delete", [user_soft_delete, user_hard_delete], ids=["soft", "hard"])
    def test_nobody_deletes_themselves(self, delete):
        AdminUserFactory()
        admin = AdminUserFactory()
        with pytest.raises(ValidationError, match="You cannot delete your own account."):
            delete(user=admin, actor=admin)
        assert User.objects.filter(pk=admin.pk).exists()

    def test_an_admin_deletes_another_admin_while_one_remains(self):
        actor, other = AdminUserFactory(), AdminUserFactory()
        user_soft_delete(user=other, actor=actor)
        assert list(User.objects.active_admins()) == [actor]


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    """Each thread on its own connection: without the ADMIN rows' lock both would see the other and go ahead."""
    first, second = AdminUserFactory(), AdminUserFactory()
    barrier = threading.Barrier(2)
    outcomes = {}

    def demote(user):
        try:
            barrier.wait(timeout=30)
            user_update(user=User.objects.get(pk=user.pk), role=Role.USER)
            outcomes[user.pk] = "demoted"
        except ValidationError as error:
            outcomes[user.pk] = error.message_dict
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert User.objects.active_admins().count() == 1
    refused = [outcome for outcome in outcomes.values() if outcome != "demoted"]
    assert len(outcomes) == 2 and len(refused) == 1
    assert "the last active ADMIN" in refused[0]["role"][0]
