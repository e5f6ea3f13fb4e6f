"""Named reads of users: the active ADMINs, a user by any spelling of their email."""

import pytest

from users.factories import AdminUserFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


def test_active_admins_leaves_out_inactive_deleted_and_other_users():
    admin = AdminUserFactory()
    AdminUserFactory(is_active=False)
    AdminUserFactory().soft_delete()
    UserFactory(is_staff=True, is_superuser=True)
    assert list(User.objects.active_admins()) == [admin]


def test_with_email_finds_the_fullwidth_spelling():
    user = UserFactory(email="boss@geminivideo.ai")
    UserFactory()
    assert list(User.objects.with_email("ｂｏｓｓ@ｇｅｍｉｎｉｖｉｄｅｏ．ａｉ")) == [user]


def test_with_email_finds_the_unicode_spelling_of_a_punycode_domain():
    user = UserFactory(email="ivan@xn--e1afmkfd.xn--p1ai")
    assert list(User.objects.with_email("Ivan@Пример.рф")) == [user]
