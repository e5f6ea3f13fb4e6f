import pytest

from gateway.tests.admin_helpers import (
    add_url,
    assert_form_error,
    assert_shows_deleted,
    assert_soft_deleted_and_restored,
    change_url,
    changelist_url,
    each_model,
    form_errors,
    messages_of,
    post_change_form,
    queries_for,
    run_action,
    same_query_count,
    staff_user,
)
from media.factories import AssetFactory
from media.models import Asset
from users.choices import Role
from users.factories import AdminUserFactory, ApiKeyFactory, UserFactory
from users.models import ApiKey, User
from users.services import api_key_authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_rows():
    """A user with two API keys (one revoked), and a soft-deleted user."""
    owner = UserFactory(email="owner@example.com", name="Olivia Owner")
    keys = [ApiKeyFactory(user=owner, name="CI"), ApiKeyFactory(user=owner, name="old")]
    ApiKey.objects.filter(pk=keys[1].pk).update(revoked_at="2025-01-01T00:00:00Z")
    deleted = UserFactory(email="gone@example.com")
    deleted.soft_delete()
    return {"owner": owner, "keys": keys, "deleted": deleted}


class TestPagesRender:
    @each_model([User, ApiKey])
    @pytest.mark.parametrize("params", [{}, {"q": "owner"}, {"q": "0123abcd"}, {"o": "2"}], ids=str)
    def test_changelist(self, admin_client, user_rows, model, params):
        assert admin_client.get(changelist_url(model, **params)).status_code == 200

    @pytest.mark.parametrize("deleted", ["yes", "all"])
    def test_user_changelist_with_deleted_rows(self, admin_client, user_rows, deleted):
        response = admin_client.get(changelist_url(User, deleted=deleted))
        assert user_rows["deleted"].pk in {row.pk for row in response.context["cl"].result_list}

    @each_model([User, ApiKey])
    def test_add_form(self, admin_client, user_rows, model):
        assert admin_client.get(add_url(model)).status_code == 200

    def test_user_change_form(self, admin_client, user_rows):
        assert admin_client.get(change_url(User, user_rows["owner"].pk)).status_code == 200

    def test_deleted_user_change_form(self, admin_client, user_rows):
        assert_shows_deleted(admin_client, user_rows["deleted"])

    def test_api_key_change_form_never_shows_the_hash(self, admin_client, user_rows):
        key = user_rows["keys"][0]
        response = admin_client.get(change_url(ApiKey, key.pk))
        assert response.status_code == 200
        assert key.prefix.encode() in response.content
        assert key.hashed_key.encode() not in response.content
        assert key.secret.encode() not in response.content

    def test_user_page_lists_keys_without_hashes(self, admin_client, user_rows):
        response = admin_client.get(change_url(User, user_rows["owner"].pk))
        inline = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is ApiKey)
        assert {form.original.pk for form in inline} == {key.pk for key in user_rows["keys"]}
        for key in user_rows["keys"]:
            assert key.prefix.encode() in response.content
            assert key.hashed_key.encode() not in response.content


class TestChangelists:
    def test_search_users_by_email(self, admin_client, user_rows):
        response = admin_client.get(changelist_url(User, q="owner@"))
        assert [row.pk for row in response.context["cl"].result_list] == [user_rows["owner"].pk]

    def test_filter_keys_by_owner_email(self, admin_client, user_rows):
        ApiKeyFactory()
        response = admin_client.get(changelist_url(ApiKey, owner="Owner@Example.com"))
        assert {row.pk for row in response.context["cl"].result_list} == {key.pk for key in user_rows["keys"]}

    def test_filter_assets_by_owner_id(self, admin_client, user_rows):
        mine = AssetFactory(user=user_rows["owner"])
        AssetFactory()
        response = admin_client.get(changelist_url(Asset, owner=str(user_rows["owner"].pk)))
        assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]

    def test_revoked_keys_filter(self, admin_client, user_rows):
        response = admin_client.get(changelist_url(ApiKey, revoked_at__isempty="0"))
        assert [row.pk for row in response.context["cl"].result_list] == [user_rows["keys"][1].pk]

    def test_user_autocomplete_offers_live_users_only(self, admin_client, user_rows):
        response = admin_client.get(
            "/admin/autocomplete/",
            {"app_label": "media", "model_name": "asset", "field_name": "user", "term": "example.com"},
        )
        ids = {row["id"] for row in response.json()["results"]}
        assert str(user_rows["owner"].pk) in ids
        assert str(user_rows["deleted"].pk) not in ids

    def test_user_changelist_query_count_is_fixed(self, admin_client):
        ApiKeyFactory.create_batch(5)
        with same_query_count(admin_client, changelist_url(User)):
            ApiKeyFactory.create_batch(45)
        assert queries_for(admin_client, changelist_url(ApiKey)) == queries_for(admin_client, changelist_url(ApiKey))

    def test_api_key_changelist_query_count_is_fixed(self, admin_client):
        ApiKeyFactory.create_batch(5)
        with same_query_count(admin_client, changelist_url(ApiKey)):
            ApiKeyFactory.create_batch(45)

    def test_user_change_form_query_count_is_fixed(self, admin_client, user_rows):
        owner = user_rows["owner"]
        with same_query_count(admin_client, change_url(User, owner.pk)):
            ApiKeyFactory.create_batch(25, user=owner)


class TestLinksToTheirRows:
    def test_user_page_links_to_their_assets_campaigns_and_keys(self, admin_client, user_rows):
        user = UserFactory()
        content = admin_client.get(change_url(User, user.pk)).content.decode()
        for url in ("/admin/media/asset/", "/admin/campaigns/campaign/", "/admin/users/apikey/"):
            assert f'href="{url}?owner={user.pk}"' in content

    def test_the_linked_list_holds_only_their_rows(self, admin_client):
        owner = UserFactory()
        theirs = AssetFactory(user=owner)
        AssetFactory()
        response = admin_client.get(changelist_url(Asset, owner=str(owner.pk)))
        assert [row.pk for row in response.context["cl"].result_list] == [theirs.pk]

    def test_the_add_form_has_no_links(self, admin_client):
        assert b"gv-owned-rows" not in admin_client.get(add_url(User)).content

    def test_api_key_page_links_back_to_its_owner(self, admin_client):
        api_key = ApiKeyFactory()
        content = admin_client.get(change_url(ApiKey, api_key.pk)).content.decode()
        assert f'href="{change_url(User, api_key.user_id)}"' in content


class TestApiKeys:
    def test_add_view_issues_a_key_and_shows_the_secret_once(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = admin_client.post(
            add_url(ApiKey), {"user": str(owner.pk), "name": "Zapier", "expires_at_0": "", "expires_at_1": ""}
        )
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        secret = response.context["secret"]
        assert secret.encode() in response.content
        issued = ApiKey.objects.get(name="Zapier")
        assert issued.user == owner
        assert issued.prefix == secret[: ApiKey.PREFIX_LENGTH]
        assert issued.verify(secret)
        assert api_key_authenticate(secret) == issued
        # The key's own page never shows the secret again.
        assert secret.encode() not in admin_client.get(change_url(ApiKey, issued.pk)).content

    def test_issue_action_on_a_user(self, admin_client, user_rows):
        owner = user_rows["owner"]
        form = run_action(admin_client, User, "issue_api_key", [owner])
        assert form.status_code == 200
        assert b'name="name"' in form.content
        response = run_action(admin_client, User, "issue_api_key", [owner], apply="1", name="Make.com")
        assert response.status_code == 200
        issued = ApiKey.objects.get(name="Make.com")
        assert issued.user == owner
        assert issued.verify(response.context["secret"])
        assert any("Issued API key “Make.com”" in message for message in messages_of(response))

    def test_issue_action_needs_a_name(self, admin_client, user_rows):
        response = run_action(admin_client, User, "issue_api_key", [user_rows["owner"]], apply="1", name="")
        assert response.status_code == 200
        assert response.context["form"].errors["name"]
        assert user_rows["owner"].api_keys.count() == 2

    def test_issue_action_is_for_one_user(self, admin_client, user_rows):
        response = run_action(admin_client, User, "issue_api_key", [user_rows["owner"], UserFactory()])
        assert "Select exactly one user." in messages_of(response)

    def test_revoke_action(self, admin_client, user_rows):
        key = user_rows["keys"][0]
        response = run_action(admin_client, ApiKey, "revoke_selected", [key])
        assert "Revoked 1 API key." in messages_of(response)
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert api_key_authenticate(key.secret) is None

    def test_editing_a_key_keeps_its_hash(self, admin_client, user_rows):
        key = user_rows["keys"][0]
        response = post_change_form(admin_client, key, name="CI (renamed)")
        assert response.status_code == 302
        key.refresh_from_db()
        assert key.name == "CI (renamed)"
        assert key.verify(key.secret)


class TestUsers:
    def test_add_user_with_email(self, admin_client):
        response = admin_client.post(
            add_url(User),
            {
                "email": "New.Person@Example.com",
                "name": "New Person",
                "role": Role.ENTERPRISE,
                "usable_password": "true",
                "password1": "a-long-Passw0rd!",
                "password2": "a-long-Passw0rd!",
                "api_keys-TOTAL_FORMS": "0",
                "api_keys-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302, form_errors(response)
        user = User.objects.get(email="new.person@example.com")
        assert user.check_password("a-long-Passw0rd!")
        assert user.role == Role.ENTERPRISE

    def test_duplicate_email_in_other_case_is_a_form_error(self, admin_client, user_rows):
        response = admin_client.post(
            add_url(User),
            {"email": "OWNER@example.com", "name": "Dup", "role": Role.USER, "usable_password": "false"},
        )
        assert response.status_code == 200
        assert form_errors(response)

    def test_bad_settings_json_is_a_form_error(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = post_change_form(admin_client, owner, settings="{not json}")
        assert_form_error(response, "settings")

    def test_soft_delete_and_restore_user(self, admin_client, user_rows):
        assert_soft_deleted_and_restored(admin_client, user_rows["owner"])


class TestStaffAccess:
    def test_staff_logs_in_with_email_in_any_case(self, client):
        UserFactory(email="staff@example.com", is_staff=True, password="s3cret-pass")
        response = client.post(
            "/admin/login/?next=/admin/", {"username": "STAFF@example.com", "password": "s3cret-pass"}, follow=True
        )
        assert response.redirect_chain[-1][0] == "/admin/"
        assert b"GeminiVideo staff console" in response.content

    def test_login_form_asks_for_the_email(self, client):
        response = client.get("/admin/login/")
        assert b"Email" in response.content

    def test_non_staff_cannot_log_in(self, client):
        UserFactory(email="customer@example.com", password="s3cret-pass")
        response = client.post("/admin/login/", {"username": "customer@example.com", "password": "s3cret-pass"})
        assert response.status_code == 200
        assert b"Please enter the correct email and password for a staff account." in response.content
        assert client.get("/admin/").status_code == 302

    def test_soft_deleted_staff_cannot_log_in(self, client):
        staff = UserFactory(email="former@example.com", is_staff=True, password="s3cret-pass")
        staff.soft_delete()
        response = client.post("/admin/login/", {"username": "former@example.com", "password": "s3cret-pass"})
        assert response.status_code == 200
        assert client.get("/admin/").status_code == 302

    def test_view_only_staff_can_view_but_not_change(self, client):
        asset = AssetFactory(original_name="visible.mp4")
        client.force_login(staff_user("media.view_asset"))
        response = client.get(changelist_url(Asset))
        assert response.status_code == 200
        assert b"visible.mp4" in response.content
        assert response.context["action_form"] is None or not response.context["cl"].actions
        page = client.get(change_url(Asset, asset.pk))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert b"Soft delete" not in page.content
        assert client.post(change_url(Asset, asset.pk), {"original_name": "changed.mp4"}).status_code == 403
        assert client.get(add_url(Asset)).status_code == 403
        asset.refresh_from_db()
        assert asset.original_name == "visible.mp4"

    def test_view_only_staff_cannot_run_actions(self, client):
        asset = AssetFactory()
        client.force_login(staff_user("media.view_asset"))
        run_action(client, Asset, "soft_delete_selected", [asset])
        run_action(client, Asset, "change_status", [asset], apply="1", status="ARCHIVED")
        asset.refresh_from_db()
        assert asset.deleted_at is None
        assert asset.status != "ARCHIVED"
        assert client.post(f"/admin/media/asset/{asset.pk}/soft-delete/").status_code == 403

    def test_staff_without_permissions_sees_no_models(self, client):
        client.force_login(staff_user())
        response = client.get("/admin/")
        assert response.status_code == 200
        assert b"/admin/media/asset/" not in response.content
        assert client.get(changelist_url(Asset)).status_code == 403

    def test_view_only_staff_cannot_issue_keys(self, client, user_rows):
        client.force_login(staff_user("users.view_user", "users.view_apikey"))
        run_action(client, User, "issue_api_key", [user_rows["owner"]], apply="1", name="sneaky")
        assert not ApiKey.objects.filter(name="sneaky").exists()


def add_user_data(**overrides):
    data = {
        "email": "new.person@example.com",
        "name": "New Person",
        "role": Role.USER,
        "usable_password": "false",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


class TestRolesInTheConsole:
    def test_staff_and_superuser_status_are_read_only(self, admin_client, user_rows):
        form = admin_client.get(change_url(User, user_rows["owner"].pk)).context["adminform"].form
        assert not {"is_staff", "is_superuser"} & set(form.fields)

    def test_making_a_user_admin_gives_staff_and_superuser(self, admin_client, user_rows):
        owner = user_rows["owner"]
        assert post_change_form(admin_client, owner, role=Role.ADMIN).status_code == 302
        owner.refresh_from_db()
        assert (owner.role, owner.is_staff, owner.is_superuser) == (Role.ADMIN, True, True)

    def test_demoting_an_admin_clears_staff_and_superuser(self, admin_client):
        other = AdminUserFactory()
        assert post_change_form(admin_client, other, role=Role.ENTERPRISE).status_code == 302
        other.refresh_from_db()
        assert (other.role, other.is_staff, other.is_superuser) == (Role.ENTERPRISE, False, False)

    def test_adding_an_admin_gives_staff_and_superuser(self, admin_client):
        response = admin_client.post(add_url(User), add_user_data(role=Role.ADMIN))
        assert response.status_code == 302
        created = User.objects.get(email="new.person@example.com")
        assert (created.is_staff, created.is_superuser, created.has_usable_password()) == (True, True, False)

    def test_the_last_admin_cannot_demote_themselves(self, admin_client, admin_user):
        response = post_change_form(admin_client, admin_user, role=Role.USER)
        assert "the last active ADMIN" in assert_form_error(response, "role")[0]
        assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN

    def test_the_last_admin_cannot_deactivate_themselves(self, admin_client, admin_user):
        response = post_change_form(admin_client, admin_user, is_active=None)
        assert "the last active ADMIN" in assert_form_error(response, "is_active")[0]
        assert User.objects.get(pk=admin_user.pk).is_active is True

    def test_the_last_admin_cannot_be_soft_deleted_by_the_action(self, admin_client, admin_user):
        response = run_action(admin_client, User, "soft_delete_selected", [admin_user])
        assert any("the last active ADMIN" in message for message in messages_of(response))
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_the_soft_delete_action_deletes_the_other_selected_users(self, admin_client, admin_user, user_rows):
        response = run_action(admin_client, User, "soft_delete_selected", [admin_user, user_rows["owner"]])
        assert "Soft-deleted 1 user." in messages_of(response)
        assert not User.objects.filter(pk=user_rows["owner"].pk).exists()
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_the_last_admin_cannot_be_soft_deleted_from_their_page(self, admin_client, admin_user):
        response = admin_client.post(f"/admin/users/user/{admin_user.pk}/soft-delete/", follow=True)
        assert any("the last active ADMIN" in message for message in messages_of(response))
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_the_soft_delete_button_deletes_another_user(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = admin_client.post(f"/admin/users/user/{owner.pk}/soft-delete/", follow=True)
        assert f"Soft-deleted user “{owner.email}”." in messages_of(response)
        assert not User.objects.filter(pk=owner.pk).exists()

    def test_the_last_admin_cannot_be_hard_deleted_from_the_delete_page(self, admin_client, admin_user):
        response = admin_client.post(f"/admin/users/user/{admin_user.pk}/delete/", {"post": "yes"}, follow=True)
        assert any("the last active ADMIN" in message for message in messages_of(response))
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_the_delete_page_refuses_before_asking_to_confirm(self, admin_client, admin_user):
        response = admin_client.get(f"/admin/users/user/{admin_user.pk}/delete/")
        assert response.status_code == 302
        assert response["Location"] == change_url(User, admin_user.pk)

    def test_the_delete_page_deletes_another_user(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = admin_client.post(f"/admin/users/user/{owner.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not User.all_objects.filter(pk=owner.pk).exists()

    def test_the_last_admin_cannot_be_hard_deleted_by_the_action(self, admin_client, admin_user, user_rows):
        selected = [admin_user, user_rows["owner"]]
        response = run_action(admin_client, User, "delete_selected", selected, post="yes")
        assert any(message.startswith("Nothing was deleted:") for message in messages_of(response))
        assert User.all_objects.filter(pk__in=[user.pk for user in selected]).count() == 2

    def test_the_hard_delete_action_deletes_other_users(self, admin_client, user_rows):
        selected = [user_rows["owner"], user_rows["deleted"]]
        response = run_action(
            admin_client, User, "delete_selected", selected, post="yes", url_params={"deleted": "all"}
        )
        assert "Successfully deleted 2 users." in messages_of(response)
        assert not User.all_objects.filter(pk__in=[user.pk for user in selected]).exists()

    def test_deleting_every_admin_at_once_deletes_none(self, client):
        client.force_login(UserFactory(is_staff=True, is_superuser=True))  # a superuser from before roles ruled
        admins = AdminUserFactory.create_batch(2)
        response = run_action(client, User, "delete_selected", admins, post="yes")
        assert any(message.startswith("Nothing was deleted:") for message in messages_of(response))
        assert User.objects.active_admins().count() == 2

    def test_a_refusal_the_change_form_did_not_foresee_saves_nothing(self, admin_client, admin_user, monkeypatch):
        """As when another ADMIN is demoted between the form's check and the save: the service decides."""
        monkeypatch.setattr("users.admin.user_check_last_admin", lambda **kwargs: None)
        response = post_change_form(admin_client, admin_user, role=Role.USER, name="Not saved")
        assert response.status_code == 302
        assert any(message.startswith("Not saved:") for message in messages_of(admin_client.get(response["Location"])))
        admin_user.refresh_from_db()
        assert admin_user.role == Role.ADMIN
        assert admin_user.name != "Not saved"

    def test_a_refusal_the_delete_page_did_not_foresee_deletes_nothing(self, admin_client, admin_user, monkeypatch):
        monkeypatch.setattr("users.admin.user_check_deletable", lambda **kwargs: None)
        response = admin_client.post(f"/admin/users/user/{admin_user.pk}/delete/", {"post": "yes"}, follow=True)
        assert any(message.startswith("Not deleted:") for message in messages_of(response))
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_the_password_page_sets_a_password(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = admin_client.post(
            f"/admin/users/user/{owner.pk}/password/",
            {"password1": "a-new-Passw0rd!", "password2": "a-new-Passw0rd!", "usable_password": "true"},
        )
        assert response.status_code == 302
        assert User.objects.get(pk=owner.pk).check_password("a-new-Passw0rd!")

    def test_the_password_page_can_disable_password_login(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = admin_client.post(
            f"/admin/users/user/{owner.pk}/password/", {"usable_password": "false", "unset-password": "1"}
        )
        assert response.status_code == 302
        assert not User.objects.get(pk=owner.pk).has_usable_password()

    def test_changing_ones_own_password_keeps_one_logged_in(self, admin_client, admin_user):
        response = admin_client.post(
            f"/admin/users/user/{admin_user.pk}/password/",
            {"password1": "a-new-Passw0rd!", "password2": "a-new-Passw0rd!", "usable_password": "true"},
        )
        assert response.status_code == 302
        assert admin_client.get("/admin/").status_code == 200

    def test_demoting_oneself_ends_ones_console_session(self, admin_client, admin_user):
        AdminUserFactory()
        assert post_change_form(admin_client, admin_user, role=Role.USER).status_code == 302
        response = admin_client.get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


class TestEmailsInTheConsole:
    def test_a_domain_mixing_scripts_is_a_form_error(self, admin_client):
        response = admin_client.post(add_url(User), add_user_data(email="boss@gеminivideo.ai"))
        assert "mixes letters of different scripts" in assert_form_error(response, "email")[0]
        assert not User.all_objects.filter(name="New Person").exists()

    def test_the_fullwidth_spelling_of_a_taken_email_is_a_form_error(self, admin_client, user_rows):
        response = admin_client.post(add_url(User), add_user_data(email="ｏｗｎｅｒ@ｅｘａｍｐｌｅ．ｃｏｍ"))
        assert response.status_code == 200
        assert form_errors(response)["email"] == ["A user with this email already exists."]

    def test_the_email_of_a_deleted_user_is_a_form_error(self, admin_client, user_rows):
        response = admin_client.post(add_url(User), add_user_data(email="Gone@Example.com"))
        assert response.status_code == 200
        assert form_errors(response)["email"] == ["A user with this email already exists."]

    def test_a_non_latin_domain_is_stored_as_punycode(self, admin_client):
        assert admin_client.post(add_url(User), add_user_data(email="ivan@пример.рф")).status_code == 302
        assert User.objects.filter(email="ivan@xn--e1afmkfd.xn--p1ai").exists()

    def test_changing_an_email_to_a_lookalike_is_a_form_error(self, admin_client, user_rows):
        owner = user_rows["owner"]
        response = post_change_form(admin_client, owner, email="owner@examplе.com")  # Cyrillic "е"
        assert_form_error(response, "email")
        assert User.objects.get(pk=owner.pk).email == "owner@example.com"
