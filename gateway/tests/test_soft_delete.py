"""Soft delete: hidden from default managers, seen by ``all_objects``, cascaded to soft children, restorable."""

import datetime

import pytest
from django.apps import apps
from django.utils import timezone

from campaigns.factories import CampaignFactory, ExperimentFactory
from gateway.models import SoftDeleteModel
from knowledge.factories import KnowledgeDocumentFactory
from media.factories import AssetFactory, ClipFactory
from media.models import Asset
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


SOFT_CHILDREN = [
    pytest.param(ClipFactory, "asset", id="asset-clips"),
    pytest.param(ExperimentFactory, "campaign", id="campaign-experiments"),
]


@pytest.mark.parametrize(("child_factory", "parent"), SOFT_CHILDREN)
class TestSoftDeletingAParent:
    def test_hides_its_children(self, child_factory, parent):
        child = child_factory()
        getattr(child, parent).soft_delete()
        assert not child_factory._meta.model.objects.filter(pk=child.pk).exists()

    def test_keeps_its_children_in_all_objects(self, child_factory, parent):
        child = child_factory()
        getattr(child, parent).soft_delete()
        assert child_factory._meta.model.all_objects.filter(pk=child.pk).exists()

    def test_leaves_other_parents_children_visible(self, child_factory, parent):
        kept = child_factory()
        getattr(child_factory(), parent).soft_delete()
        assert list(child_factory._meta.model.objects.all()) == [kept]

    def test_restore_brings_back_the_children_deleted_with_it(self, child_factory, parent):
        row = child_factory()
        children = [row, *child_factory.create_batch(2, **{parent: getattr(row, parent)})]
        getattr(row, parent).soft_delete()
        getattr(row, parent).restore()
        assert set(child_factory._meta.model.objects.filter(**{parent: getattr(row, parent)})) == set(children)

    def test_restore_leaves_a_child_deleted_earlier_on_its_own_deleted(self, child_factory, parent):
        kept = child_factory()
        parent_row = getattr(kept, parent)
        deleted_before = child_factory(**{parent: parent_row})
        deleted_before.soft_delete(at=timezone.now() - datetime.timedelta(minutes=5))
        parent_row.soft_delete()
        parent_row.restore()
        assert list(child_factory._meta.model.objects.filter(**{parent: parent_row})) == [kept]


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
