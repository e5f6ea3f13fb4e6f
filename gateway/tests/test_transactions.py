"""A write that fails part-way leaves nothing behind."""

import pytest
from django.db import IntegrityError, connection, transaction

from media.factories import AssetFactory, ClipFactory
from media.models import Asset, Clip
from users.factories import UserFactory

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_transaction_that_raises_leaves_no_asset_or_clips_behind():
    user = UserFactory()
    with pytest.raises(Boom), transaction.atomic():
        asset = AssetFactory(user=user)
        ClipFactory.create_batch(3, asset=asset)
        raise Boom
    assert not Asset.all_objects.filter(user=user).exists()
    assert not Clip.all_objects.filter(asset__user=user).exists()


def test_transaction_the_database_refuses_part_way_leaves_no_row_behind():
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        asset = AssetFactory(user=user)
        ClipFactory(asset=asset, start_time=10, end_time=5)
    assert not Asset.all_objects.filter(user=user).exists()


def test_soft_delete_refused_on_a_child_leaves_the_parent_not_deleted():
    with connection.cursor() as cursor:
        # A real database refusal of the service's second write (the clips); the test's rollback drops it.
        cursor.execute("ALTER TABLE clips ADD CONSTRAINT test_clips_never_deleted CHECK (deleted_at IS NULL) NOT VALID")
    clip = ClipFactory()
    with pytest.raises(IntegrityError, match="test_clips_never_deleted"):
        clip.asset.soft_delete()
    assert Asset.all_objects.get(pk=clip.asset_id).deleted_at is None
