"""Test cases shared by the apps' ``test_querysets.py``: the scoping rule of ``gateway.models.OwnedQuerySet``.

An app subclasses ``VisibleToCases`` as ``TestVisibleTo``, parametrized over its owned models, and gives a
``two_owners`` fixture: ``{"mine": {"owner": user, Model: row, ...}, "theirs": {...}}``.
"""

from django.contrib.auth.models import AnonymousUser

from users.factories import AdminUserFactory


class VisibleToCases:
    def test_a_user_sees_their_own_rows_only(self, two_owners, model):
        mine = two_owners["mine"]
        assert list(model.objects.visible_to(mine["owner"])) == [mine[model]]

    def test_owned_by_is_the_same_for_a_user(self, two_owners, model):
        mine = two_owners["mine"]
        assert list(model.objects.owned_by(mine["owner"])) == [mine[model]]

    def test_an_admin_sees_every_row(self, two_owners, model):
        expected = {two_owners["mine"][model].pk, two_owners["theirs"][model].pk}
        assert set(model.objects.visible_to(AdminUserFactory()).values_list("pk", flat=True)) == expected

    def test_nobody_else_sees_any_row(self, two_owners, model):
        assert list(model.objects.visible_to(AnonymousUser())) == []
        assert list(model.objects.visible_to(None)) == []
