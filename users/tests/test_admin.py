import pytest

from gateway.tests.admin_helpers import (
    add_url,
    change_url,
    changelist_url,
    form_data,
    messages_of,
    queries_for,
    run_action,
    staff_user,
)
from media.factories import AssetFactory
from media.models import Asset
from users.choices import Role
from users.factories import ApiKeyFactory, UserFactory
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
    @pytest.mark.parametrize("model", [User, ApiKey], ids=lambda model: model.__name__)
    @pytest.mark.parametrize("params", [{}, {"q": "owner"}, {"q": "0123abcd"}, {"o": "2"}], ids=str)
    def test_changelist(self, admin_client, user_rows, model, params):
        assert admin_client.get(changelist_url(model, **params)).status_code == 200

    @pytest.mark.parametrize("deleted", ["yes", "all"])
    def test_user_changelist_with_deleted_rows(self, admin_client, user_rows, deleted):
        response = admin_client.get(changelist_url(User, deleted=deleted))
        assert user_rows["deleted"].pk in {row.pk for row in response.context["cl"].result_list}

    @pytest.mark.parametrize("model", [User, ApiKey], ids=lambda model: model.__name__)
    def test_add_form(self, admin_client, user_rows, model):
        assert admin_client.get(add_url(model)).status_code == 200

    def test_user_change_form(self, admin_client, user_rows):
        assert admin_client.get(change_url(User, user_rows["owner"].pk)).status_code == 200

    def test_deleted_user_change_form(self, admin_client, user_rows):
        response = admin_client.get(change_url(User, user_rows["deleted"].pk))
        assert response.status_code == 200
        assert b"was deleted (soft delete," in response.content

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
        for _ in range(5):
            ApiKeyFactory()
        few = queries_for(admin_client, changelist_url(User))
        for _ in range(45):
            ApiKeyFactory()
        assert queries_for(admin_client, changelist_url(User)) == few
        assert queries_for(admin_client, changelist_url(ApiKey)) == queries_for(admin_client, changelist_url(ApiKey))

    def test_api_key_changelist_query_count_is_fixed(self, admin_client):
        for _ in range(5):
            ApiKeyFactory()
        few = queries_for(admin_client, changelist_url(ApiKey))
        for _ in range(45):
            ApiKeyFactory()
        assert queries_for(admin_client, changelist_url(ApiKey)) == few

    def test_user_change_form_query_count_is_fixed(self, admin_client, user_rows):
        owner = user_rows["owner"]
        few = queries_for(admin_client, change_url(User, owner.pk))
        ApiKeyFactory.create_batch(25, user=owner)
        assert queries_for(admin_client, change_url(User, owner.pk)) == few


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
        data = form_data(admin_client.get(change_url(ApiKey, key.pk)))
        data["name"] = "CI (renamed)"
        response = admin_client.post(change_url(ApiKey, key.pk), data)
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
        assert response.status_code == 302, response.context["adminform"].form.errors
        user = User.objects.get(email="new.person@example.com")
        assert user.check_password("a-long-Passw0rd!")
        assert user.role == Role.ENTERPRISE

    def test_duplicate_email_in_other_case_is_a_form_error(self, admin_client, user_rows):
        response = admin_client.post(
            add_url(User),
            {"email": "OWNER@example.com", "name": "Dup", "role": Role.USER, "usable_password": "false"},
        )
        assert response.status_code == 200
        assert response.context["adminform"].form.errors

    def test_bad_settings_json_is_a_form_error(self, admin_client, user_rows):
        owner = user_rows["owner"]
        data = form_data(admin_client.get(change_url(User, owner.pk)))
        data["settings"] = "{not json}"
        response = admin_client.post(change_url(User, owner.pk), data)
        assert response.status_code == 200
        assert "settings" in response.context["adminform"].form.errors

    def test_soft_delete_and_restore_user(self, admin_client, user_rows):
        owner = user_rows["owner"]
        run_action(admin_client, User, "soft_delete_selected", [owner])
        assert not User.objects.filter(pk=owner.pk).exists()
        run_action(admin_client, User, "restore_selected", [owner], url_params={"deleted": "yes"})
        assert User.objects.filter(pk=owner.pk).exists()


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
