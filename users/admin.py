"""Staff console for users and their API keys.

Keys are issued through ``users.services.api_key_issue`` (the add form, or the "Issue an API key"
action on users): the secret is shown once, on the page that answers the request, and never stored.

Users are created, changed (the password page too) and deleted, softly or for good, through the
users services, as in the API: staff and superuser status follow the role (read-only here), the last
active ADMIN can be neither demoted, deactivated nor deleted, and a user who loses access has their
sessions ended at once. The forms check early, next to the field; the services decide.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html

from gateway.admin.actions import apply_each, limited_rows, run_form_action
from gateway.admin.base import BaseAdmin, SoftDeleteAdmin
from gateway.admin.filters import owner_filter
from gateway.admin.formatting import plural, validation_message
from gateway.admin.inlines import ReadOnlyLatestInline
from gateway.admin.links import change_url, owner_link
from gateway.admin.owners import owned_rows_links
from gateway.services import copy_row
from users.emails import normalize_email
from users.models import ApiKey, User
from users.services import (
    DUPLICATE_EMAIL,
    USER_UPDATE_FIELDS,
    api_key_issue,
    api_key_revoke,
    user_check_deletable,
    user_check_last_admin,
    user_create,
    user_hard_delete,
    user_soft_delete,
    user_update,
)


class CanonicalEmailFormField(forms.EmailField):
    """An email address, put in canonical form (``users.emails``) before it is validated; lookalikes are refused."""

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_email(value) if value else value


class UserEmailFormMixin:
    """The email of a user form: free among all users, deleted ones included (they keep their address)."""

    def clean_email(self):
        email = self.cleaned_data["email"]
        if User.all_objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError(DUPLICATE_EMAIL, code="unique")
        return email


class UserCreationForm(UserEmailFormMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")
        field_classes = {"email": CanonicalEmailFormField}


class UserEditForm(UserEmailFormMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": CanonicalEmailFormField}

    def clean(self):
        cleaned_data = super().clean()
        # Early, next to the field; user_update checks again under the ADMIN rows' locks.
        changes = {name: cleaned_data[name] for name in ("role", "is_active") if name in cleaned_data}
        if changes:
            try:
                user_check_last_admin(user=self.instance, **changes)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned_data


class UserPasswordChangeForm(AdminPasswordChangeForm):
    """The console's "change password" page, writing the password alone through ``user_update``."""

    def save(self, commit=True):
        data = self.cleaned_data
        password = data["password1"] if data.get("set_usable_password", True) else None
        if commit:
            return user_update(user=self.user, password=password)
        self.user.set_password(password)
        return self.user


class ApiKeyInline(ReadOnlyLatestInline):
    """A user's keys: name, prefix and dates; the hash is never shown."""

    model = ApiKey
    fields = ("short_id", "name", "prefix", "state", "created_at", "last_used_at", "expires_at", "revoked_at")
    all_rows_param = "owner"
    verbose_name_plural = "API keys"

    @admin.display(description="state")
    def state(self, obj):
        return api_key_state(obj)


def api_key_state(api_key: ApiKey) -> str:
    if api_key.is_revoked:
        return "revoked"
    if api_key.is_expired:
        return "expired"
    return "active"


class IssueApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “CI pipeline”.")
    expires_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, help_text="Leave empty for a key that does not expire."
    )


def render_issued_key(request, model_admin, api_key: ApiKey, secret: str):
    """The one page that shows a new key's secret; it is not cached and not stored anywhere."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "API key issued",
        "subtitle": None,
        "opts": ApiKey._meta,
        "api_key": api_key,
        "secret": secret,
    }
    response = TemplateResponse(request, "admin/users/apikey/issued.html", context)
    response["Cache-Control"] = "no-store"
    return response


@admin.register(User)
class UserAdmin(SoftDeleteAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    change_password_form = UserPasswordChangeForm
    list_display = (
        "short_id",
        "email",
        "name",
        "role",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
        "created_at",
    )
    list_display_links = ("short_id", "email")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "created_at", "last_login")
    search_fields = ("email", "name")
    global_search_fields = ("=email", "name")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("last_login", "is_staff", "is_superuser", "owned_rows")
    change_only_fields = ("owned_rows",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Their rows", {"fields": ("owned_rows",)}),
        ("Profile", {"fields": ("name", "role", "settings")}),
        (
            "Permissions",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Staff and superuser status follow the role: an ADMIN has both, every other role "
                "neither. Leaving ADMIN or being deactivated ends the user's sessions at once.",
            },
        ),
        ("Record", {"fields": ("id", "last_login", "created_at", "updated_at", "deleted_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = (ApiKeyInline,)
    actions = ("issue_api_key", "soft_delete_selected", "restore_selected", "delete_selected")

    @admin.display(description="lists")
    def owned_rows(self, obj):
        return owned_rows_links(obj)

    def save_model(self, request, obj, form, change):
        """New users come from ``user_create``; changes go through ``user_update`` (changed fields only)."""
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in USER_UPDATE_FIELDS}
            if fields:
                user_update(user=obj, **fields)
            return
        data = form.cleaned_data
        created = user_create(
            email=obj.email,
            name=obj.name,
            role=obj.role,
            password=data.get("password1") if data.get("set_usable_password") else None,
        )
        copy_row(created, obj)
        obj._state.adding = False
        obj._state.db = created._state.db

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            # A service refused what the form could not foresee (another ADMIN demoted meanwhile);
            # the view's transaction has rolled back, so nothing of the form was saved.
            self.message_user(request, f"Not saved: {validation_message(error)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        try:
            if user is not None:
                # Refused before the confirmation page; user_hard_delete checks again when it deletes.
                user_check_deletable(user=user, actor=request.user)
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            self.message_user(request, f"Not deleted: {validation_message(error)}", messages.ERROR)
            return HttpResponseRedirect(change_url(User, unquote(object_id)))

    def delete_model(self, request, obj):
        user_hard_delete(user=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_hard_delete(user=user, actor=request.user)

    @admin.action(
        description="Permanently delete selected %(verbose_name_plural)s (hard delete)", permissions=["delete"]
    )
    def delete_selected(self, request, queryset):
        """Django's delete action, all or nothing: a refused user (the last ADMIN, yourself) deletes none."""
        try:
            for user in queryset:
                user_check_deletable(user=user, actor=request.user)
            with transaction.atomic():
                return django_delete_selected(self, request, queryset)
        except ValidationError as error:
            self.message_user(request, f"Nothing was deleted: {validation_message(error)}", messages.ERROR)
            return None

    @admin.action(description="Soft delete selected %(verbose_name_plural)s", permissions=["soft_delete"])
    def soft_delete_selected(self, request, queryset):
        rows = limited_rows(self, request, queryset.filter(deleted_at__isnull=True))
        if rows is None:
            return
        done = apply_each(
            self, request, rows, lambda user: user_soft_delete(user=user, actor=request.user), log="Soft-deleted."
        )
        if done:
            self.message_user(request, f"Soft-deleted {done} {plural(User, done)}.", messages.SUCCESS)

    def _soft_delete_view(self, request, object_id):
        user = self._object_for_soft_change(request, object_id)
        if user.deleted_at is None:
            try:
                user_soft_delete(user=user, actor=request.user)
            except ValidationError as error:
                self.message_user(request, f"Not deleted: {validation_message(error)}", messages.ERROR)
                return HttpResponseRedirect(change_url(User, user.pk))
            self.log_change(request, user, "Soft-deleted.")
            self.message_user(request, f"Soft-deleted user “{user}”.", messages.SUCCESS)
        return HttpResponseRedirect(change_url(User, user.pk))

    def has_issue_api_key_permission(self, request):
        opts = ApiKey._meta
        return request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")

    @admin.action(description="Issue an API key to the selected user", permissions=["issue_api_key"])
    def issue_api_key(self, request, queryset):
        issued = {}

        def issue(user, data):
            issued["key"] = api_key_issue(user=user, name=data["name"], expires_at=data["expires_at"])
            return issued["key"][0]

        response = run_form_action(
            self,
            request,
            queryset,
            action="issue_api_key",
            form_class=IssueApiKeyForm,
            title="Issue an API key",
            apply=issue,
            submit_label="Issue the key",
            describe=lambda user, api_key, data: f"Issued API key “{api_key.name}” ({api_key.prefix}…) to {user}.",
            single=True,
        )
        if "key" in issued:
            api_key, secret = issued["key"]
            return render_issued_key(request, self, api_key, secret)
        return response


@admin.register(ApiKey)
class ApiKeyAdmin(BaseAdmin):
    list_display = (
        "short_id",
        "name",
        "prefix",
        "owner",
        "state",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_display_links = ("short_id", "name")
    list_filter = (
        owner_filter(),
        ("revoked_at", admin.EmptyFieldListFilter),
        "expires_at",
        "last_used_at",
        "created_at",
    )
    list_select_related = ("user",)
    search_fields = ("=prefix", "name", "=user__email")
    global_search_fields = ("=prefix",)
    uuid_search_fields = ("pk", "user_id")
    search_help_text = "A key's prefix, name or owner email; or an id (key or user, full or first 8 characters)."
    date_hierarchy = "created_at"
    autocomplete_fields = ("user",)
    fieldsets = (
        (None, {"fields": ("user", "name", "expires_at")}),
        ("Key", {"fields": ("prefix", "state", "last_used_at", "revoked_at")}),
        ("Record", {"fields": ("id", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"fields": ("user", "name", "expires_at")}),)
    readonly_fields = ("prefix", "state", "last_used_at", "revoked_at")
    change_readonly_fields = ("user",)
    actions = ("revoke_selected",)

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    @admin.display(description="owner", ordering="user__email")
    def owner(self, obj):
        return owner_link(obj.user_id, obj.user.email)

    @admin.display(description="state")
    def state(self, obj):
        state = api_key_state(obj)
        if state == "active":
            return state
        return format_html('<span class="gv-deleted">{}</span>', state)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # New keys come from the service, which makes the secret and stores only its hash.
        api_key, secret = api_key_issue(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        obj.__dict__.update({name: value for name, value in api_key.__dict__.items() if name != "_state"})
        obj._state.adding = False
        obj._state.db = api_key._state.db
        request._issued_api_key_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_issued_api_key_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return render_issued_key(request, self, obj, secret)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        rows = limited_rows(self, request, queryset.filter(revoked_at__isnull=True))
        if rows is None:
            return
        apply_each(self, request, rows, lambda api_key: api_key_revoke(api_key=api_key), log="Revoked.")
        if rows:
            self.message_user(request, f"Revoked {len(rows)} API key{'s' if len(rows) != 1 else ''}.", messages.SUCCESS)
        else:
            self.message_user(request, "The selected keys were already revoked.", messages.WARNING)
