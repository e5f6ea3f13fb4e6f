"""Links between console pages: a row's change page, a filtered changelist."""

from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from gateway.admin.formatting import short_pk


def change_url(model, pk) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(pk)])


def history_url(model, pk) -> str:
    """The "History" page of ``model`` row ``pk``."""
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[quote(pk)])


def changelist_url(model, **params) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def admin_link(model, pk, label=None):
    """A link to the change page of ``model`` row ``pk`` (labelled with its short id by default); blank for None."""
    if pk is None:
        return "–"
    return format_html(
        '<a href="{}" title="{}">{}</a>', change_url(model, pk), str(pk), label if label is not None else short_pk(pk)
    )


def owner_link(user_id, email: str):
    """A link to the owner's page, labelled with their email cut to a list column's width (whole in its title)."""
    return admin_link(get_user_model(), user_id, format_html('<span class="gv-cut" title="{}">{}</span>', email, email))
