"""Soft delete: hidden from default managers, seen by ``all_objects``, cascaded to soft children, restorable."""

import datetime

import pytest
from django.apps import apps
from django.utils import timezone

from campaigns.factories import CampaignFactory, ExperimentFactory
from campaigns.models import Experiment
from gateway.models import SoftDeleteModel
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory
from media.models import Asset, Clip
from users.factories import ApiKeyFactory, UserFactory
from users.models import ApiKey, User

pytestmark = pytest.mark.django_db

FACTORIES = {
    factory._meta.model: factory
    for factory in (
        UserFactory,
        AssetFactory,
        ClipFactory,
        CampaignFactory,
        ExperimentFactory,
        KnowledgeDocumentFactory,
    )
}
# Every soft model of the project, from the app registry: a new one without a factory here fails below.
SOFT_MODEL_CLASSES = [model for model in apps.get_models() if issubclass(model, SoftDeleteModel)]
SOFT_MODELS = [
    pytest.param(FACTORIES.get(model), id=model._meta.model_name) for model in SOFT_MODEL_CLASSES if model in FACTORIES
]


def test_every_soft_model_is_tested_here():
    assert sorted(model.__name__ for model in SOFT_MODEL_CLASSES if model not in FACTORIES) == []


@pytest.mark.parametrize("factory", SOFT_MODELS)
class TestSoftDeletingARow:
    def test_hides_it_from_the_default_manager(self, factory):
        row = factory()
        row.soft_delete()
        assert not factory._meta.model.objects.filter(pk=row.pk).exists()

    def test_keeps_it_in_all_objects(self, factory):
        row = factory()
        row.soft_delete()
        assert factory._meta.model.all_objects.get(pk=row.pk).is_deleted

    def test_restore_brings_it_back(self, factory):
        row = factory()
        row.soft_delete()
        row.restore()
        assert factory._meta.model.objects.filter(pk=row.pk).exists()


def test_soft_deleting_twice_keeps_the_first_time():
    asset = AssetFactory()
    first = timezone.now() - datetime.timedelta(hours=1)
    asset.soft_delete(at=first)
    asset.soft_delete()
    assert Asset.all_objects.get(pk=asset.pk).deleted_at == first


def test_soft_deleted_rows_are_left_out_of_related_managers():
    clip = ClipFactory()
    deleted = ClipFactory(asset=clip.asset)
    deleted.soft_delete()
    assert list(clip.asset.clips.all()) == [clip]


class TestSoftDeletingAnAsset:
    def test_hides_its_clips(self):
        clip = ClipFactory()
        clip.asset.soft_delete()
        assert not Clip.objects.filter(pk=clip.pk).exists()

    def test_keeps_its_clips_in_all_objects(self):
        clip = ClipFactory()
        clip.asset.soft_delete()
        assert Clip.all_objects.filter(pk=clip.pk).exists()

    def test_leaves_other_assets_clips_visible(self):
        kept = ClipFactory()
        ClipFactory().asset.soft_delete()
        assert list(Clip.objects.all()) == [kept]

    def test_restore_brings_back_the_clips_deleted_with_it(self):
        asset = AssetFactory()
        clips = ClipFactory.create_batch(3, asset=asset)
        asset.soft_delete()
        asset.restore()
        assert set(Clip.objects.filter(asset=asset)) == set(clips)

    def test_restore_leaves_a_clip_deleted_earlier_on_its_own_deleted(self):
        asset = AssetFactory()
        kept, deleted_before = ClipFactory(asset=asset), ClipFactory(asset=asset)
        deleted_before.soft_delete(at=timezone.now() - datetime.timedelta(minutes=5))
        asset.soft_delete()
        asset.restore()
        assert list(Clip.objects.filter(asset=asset)) == [kept]


class TestSoftDeletingACampaign:
    def test_hides_its_experiments(self):
        experiment = ExperimentFactory()
        experiment.campaign.soft_delete()
        assert not Experiment.objects.filter(pk=experiment.pk).exists()

    def test_restore_brings_back_the_experiments_deleted_with_it(self):
        campaign = CampaignFactory()
        experiments = ExperimentFactory.create_batch(2, campaign=campaign)
        campaign.soft_delete()
        campaign.restore()
        assert set(Experiment.objects.filter(campaign=campaign)) == set(experiments)

    def test_restore_leaves_an_experiment_deleted_earlier_on_its_own_deleted(self):
        campaign = CampaignFactory()
        kept, deleted_before = ExperimentFactory(campaign=campaign), ExperimentFactory(campaign=campaign)
        deleted_before.soft_delete(at=timezone.now() - datetime.timedelta(minutes=5))
        campaign.soft_delete()
        campaign.restore()
        assert list(Experiment.objects.filter(campaign=campaign)) == [kept]


class TestSoftDeletingAUser:
    def test_makes_their_api_keys_unusable(self):
        api_key = ApiKeyFactory()
        assert ApiKey.objects.usable().filter(pk=api_key.pk).exists()
        api_key.user.soft_delete()
        assert not ApiKey.objects.usable().filter(pk=api_key.pk).exists()

    def test_restore_makes_their_api_keys_usable_again(self):
        api_key = ApiKeyFactory()
        api_key.user.soft_delete()
        api_key.user.restore()
        assert ApiKey.objects.usable().filter(pk=api_key.pk).exists()

    def test_leaves_other_users_api_keys_usable(self):
        kept = ApiKeyFactory()
        ApiKeyFactory().user.soft_delete()
        assert list(ApiKey.objects.usable()) == [kept]

    def test_hides_them_from_login_by_email(self):
        user = UserFactory(email="ada@example.com")
        user.soft_delete()
        with pytest.raises(User.DoesNotExist):
            User.objects.get_by_natural_key("ADA@example.com")
