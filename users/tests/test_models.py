"""Database-level rules of users and API keys: every constraint, and what deleting a user takes with it.

Bad rows are written with ``QuerySet.update()`` so model validation is bypassed and only the database
stands in the way; each write runs in its own savepoint so the test's transaction stays usable.
"""

import pytest
from django.db import IntegrityError, transaction

from campaigns.factories import CampaignFactory
from campaigns.models import Campaign
from media.factories import AssetFactory, ClipFactory
from media.models import Asset, Clip
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
    declared = {constraint.name for model in (User, ApiKey) for constraint in model._meta.constraints}
    assert declared == TESTED_CONSTRAINTS


class TestUserConstraints:
    def test_email_is_unique_without_regard_to_case(self):
        UserFactory(email="ada@example.com")
        other = UserFactory(email="grace@example.com")
        # update() skips save()'s lower-casing, so only the Lower(email) index can catch this.
        with pytest.raises(IntegrityError, match="users_user_email_ci_unique"), transaction.atomic():
            User.all_objects.filter(pk=other.pk).update(email="ADA@Example.COM")

    @pytest.mark.parametrize("role", ["SUPERUSER", "admin", ""])
    def test_role_must_be_a_known_upper_case_role(self, role):
        user = UserFactory()
        with pytest.raises(IntegrityError, match="users_user_role_valid"), transaction.atomic():
            User.all_objects.filter(pk=user.pk).update(role=role)


class TestApiKeyConstraints:
    def test_prefix_is_unique(self):
        first = ApiKeyFactory()
        second = ApiKeyFactory()
        with pytest.raises(IntegrityError, match="users_apikey_prefix_unique"), transaction.atomic():
            ApiKey.objects.filter(pk=second.pk).update(prefix=first.prefix)

    @pytest.mark.parametrize("prefix", ["", "gv_short"])
    def test_prefix_has_exactly_twelve_characters(self, prefix):
        api_key = ApiKeyFactory()
        with pytest.raises(IntegrityError, match="users_apikey_prefix_length"), transaction.atomic():
            ApiKey.objects.filter(pk=api_key.pk).update(prefix=prefix)


class TestDeletingAUser:
    def test_deletes_their_assets(self):
        asset = AssetFactory()
        asset.user.delete()
        assert not Asset.all_objects.filter(pk=asset.pk).exists()

    def test_deletes_the_clips_of_their_assets(self):
        clip = ClipFactory()
        clip.asset.user.delete()
        assert not Clip.all_objects.filter(pk=clip.pk).exists()

    def test_deletes_their_campaigns(self):
        campaign = CampaignFactory()
        campaign.user.delete()
        assert not Campaign.all_objects.filter(pk=campaign.pk).exists()

    def test_deletes_their_api_keys(self):
        api_key = ApiKeyFactory()
        api_key.user.delete()
        assert not ApiKey.objects.filter(pk=api_key.pk).exists()

    def test_leaves_other_users_rows_alone(self):
        doomed, kept = UserFactory(), UserFactory()
        kept_asset = AssetFactory(user=kept)
        AssetFactory(user=doomed)
        doomed.delete()
        assert list(Asset.all_objects.values_list("pk", flat=True)) == [kept_asset.pk]
