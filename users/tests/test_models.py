"""Database-level rules of users and API keys: every constraint, and what deleting a user takes with it.

Helpers (refused writes, cascades): gateway.tests.model_helpers.
"""

import pytest
from django.core.exceptions import ValidationError

from campaigns.factories import CampaignFactory
from gateway.tests.model_helpers import assert_deleting_parent_deletes, constraints_of, refused_by
from media.factories import AssetFactory, ClipFactory
from media.models import Asset
from users.choices import Role
from users.factories import ApiKeyFactory, UserFactory
from users.models import ApiKey, User

pytestmark = pytest.mark.django_db

TESTED_CONSTRAINTS = {
    "users_user_email_ci_unique",
    "users_user_role_valid",
    "users_apikey_prefix_unique",
    "users_apikey_prefix_length",
}


def test_every_declared_constraint_has_a_test():
    assert constraints_of(User, ApiKey) == TESTED_CONSTRAINTS


class TestUserConstraints:
    def test_email_is_unique_without_regard_to_case(self):
        UserFactory(email="ada@example.com")
        other = UserFactory(email="grace@example.com")
        # update() skips save()'s lower-casing, so only the Lower(email) index can catch this.
        with refused_by("users_user_email_ci_unique"):
            User.all_objects.filter(pk=other.pk).update(email="ADA@Example.COM")

    @pytest.mark.parametrize("role", ["SUPERUSER", "admin", ""])
    def test_role_must_be_a_known_upper_case_role(self, role):
        user = UserFactory()
        with refused_by("users_user_role_valid"):
            User.all_objects.filter(pk=user.pk).update(role=role)


class TestApiKeyConstraints:
    def test_prefix_is_unique(self):
        first = ApiKeyFactory()
        second = ApiKeyFactory()
        with refused_by("users_apikey_prefix_unique"):
            ApiKey.objects.filter(pk=second.pk).update(prefix=first.prefix)

    @pytest.mark.parametrize("prefix", ["", "gv_short"])
    def test_prefix_has_exactly_twelve_characters(self, prefix):
        api_key = ApiKeyFactory()
        with refused_by("users_apikey_prefix_length"):
            ApiKey.objects.filter(pk=api_key.pk).update(prefix=prefix)


class TestDeletingAUser:
    @pytest.mark.parametrize(
        ("factory", "parent_path"),
        [
            pytest.param(AssetFactory, "user", id="their_assets"),
            pytest.param(ClipFactory, "asset.user", id="the_clips_of_their_assets"),
            pytest.param(CampaignFactory, "user", id="their_campaigns"),
            pytest.param(ApiKeyFactory, "user", id="their_api_keys"),
        ],
    )
    def test_deletes(self, factory, parent_path):
        assert_deleting_parent_deletes(factory, parent_path)

    def test_leaves_other_users_rows_alone(self):
        doomed, kept = UserFactory(), UserFactory()
        kept_asset = AssetFactory(user=kept)
        AssetFactory(user=doomed)
        doomed.delete()
        assert list(Asset.all_objects.values_list("pk", flat=True)) == [kept_asset.pk]


class TestEmails:
    def test_create_user_stores_the_canonical_form(self):
        user = User.objects.create_user("ＩＶＡＮ@Пример.РФ")
        assert User.objects.get(pk=user.pk).email == "ivan@xn--e1afmkfd.xn--p1ai"

    def test_create_user_refuses_a_lookalike_address(self):
        with pytest.raises(ValidationError):
            User.objects.create_user("boss@gеminivideo.ai")
        assert not User.all_objects.exists()

    def test_clean_refuses_a_lookalike_address_naming_email(self):
        user = UserFactory.build(email="boss@geminivideο.ai")
        with pytest.raises(ValidationError) as excinfo:
            user.full_clean(validate_unique=False)
        assert "email" in excinfo.value.message_dict

    def test_clean_puts_the_email_in_canonical_form(self):
        user = UserFactory.build(email="Boss@GEMINIVIDEO.ai")
        user.clean()
        assert user.email == "boss@geminivideo.ai"

    def test_save_puts_the_email_in_canonical_form(self):
        assert UserFactory(email="ＢＯＳＳ@Example.COM").email == "boss@example.com"

    def test_login_lookup_finds_any_spelling_of_the_address(self):
        user = UserFactory(email="ivan@xn--e1afmkfd.xn--p1ai")
        assert User.objects.get_by_natural_key("IVAN@пример.рф") == user

    def test_login_lookup_of_a_lookalike_finds_nobody(self):
        UserFactory(email="boss@geminivideo.ai")
        with pytest.raises(User.DoesNotExist):
            User.objects.get_by_natural_key("boss@gеminivideo.ai")


class TestConsoleAccess:
    def test_create_user_gives_an_admin_staff_and_superuser(self):
        user = User.objects.create_user("admin@example.com", role=Role.ADMIN)
        assert (user.is_staff, user.is_superuser) == (True, True)

    def test_create_user_gives_a_user_no_console_access(self):
        user = User.objects.create_user("user@example.com")
        assert (user.is_staff, user.is_superuser) == (False, False)

    def test_create_user_refuses_staff_status_for_a_non_admin(self):
        with pytest.raises(ValueError, match="is_staff follows the role"):
            User.objects.create_user("user@example.com", is_staff=True)

    def test_create_superuser_makes_an_admin(self):
        user = User.objects.create_superuser("root@example.com", password="a-long-passphrase")
        assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, True)

    def test_create_superuser_refuses_another_role(self):
        with pytest.raises(ValueError, match="A superuser is an ADMIN"):
            User.objects.create_superuser("root@example.com", role=Role.USER)
