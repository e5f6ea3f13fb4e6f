"""Helpers for the admin tests of every app: URLs, query counting, form data, actions, staff users."""

import html
import re
from contextlib import contextmanager

import pytest
from django import forms
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gateway.admin.links import change_url, changelist_url
from gateway.admin.rows import RowsWidget
from users.factories import UserFactory


def add_url(model) -> str:
    opts = model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/add/"


def queries_for(client, url: str) -> int:
    """How many queries the page at ``url`` runs (after one warm-up request, so caches are filled)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@contextmanager
def same_query_count(client, url: str):
    """The page at ``url`` runs as many queries after the block (which adds rows) as before it: none per row."""
    few = queries_for(client, url)
    yield
    assert queries_for(client, url) == few


def run_action(client, model, action: str, objects, *, follow: bool = True, url_params: dict | None = None, **data):
    """POST the changelist action ``action`` for ``objects``; with ``apply`` in ``data``, its form's answer."""
    payload = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects], **data}
    if "apply" not in data:
        payload["index"] = 0
    return client.post(changelist_url(model, **(url_params or {})), payload, follow=follow)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def form_data(response) -> dict:
    """The POST data a browser would send for the unchanged change form in ``response``."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        widget = field.widget
        while hasattr(widget, "widget") and not isinstance(widget, forms.MultiWidget):
            widget = widget.widget  # the admin's related-field wrapper
        if isinstance(widget, RowsWidget):
            data.update(rows_data(widget.rows))
            continue
        value = form[name].value()
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for index, (part_widget, part) in enumerate(zip(widget.widgets, parts, strict=False)):
                formatted = part_widget.format_value(part)
                if formatted is not None:
                    data[f"{name}_{index}"] = formatted
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(widget, forms.SelectMultiple):
            data[name] = [str(item) for item in value or []]
        elif value is not None:
            formatted = widget.format_value(value)
            if formatted is not None:
                data[name] = formatted
    for name, field in form.fields.items():
        if field.show_hidden_initial:
            # What the page showed, sent back as a browser does (the hidden "initial-" inputs).
            initial = form[name]
            hidden = initial.as_hidden(only_initial=True)
            for input_name, input_value in re.findall(r'name="([^"]+)" value="([^"]*)"', hidden):
                data.setdefault(input_name, html.unescape(input_value))
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    return data


def rows_data(formset) -> dict:
    """The POST data of a formset's rows as shown (``gateway.admin.rows``), management form included."""
    management = formset.management_form
    data = {f"{formset.prefix}-{name}": management[name].value() for name in management.fields}
    for row in formset.forms:
        for field in row.visible_fields():
            value = field.value()
            if isinstance(field.field.widget, forms.CheckboxInput):
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = field.field.widget.format_value(value) or ""
    return data


def post_change_form(client, obj, **changes):
    """POST ``obj``'s unchanged change form as a browser would, with ``changes`` (a value of None unticks a box)."""
    url = change_url(type(obj), obj.pk)
    data = form_data(client.get(url))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data)


def form_errors(response) -> dict:
    """The errors of the change or add form ``response`` shows again."""
    return response.context["adminform"].form.errors


def assert_form_error(response, field: str):
    """The form came back (no redirect) with an error on ``field``; its errors, for further checks."""
    assert response.status_code == 200
    assert field in form_errors(response)
    return form_errors(response)[field]


def assert_shows_deleted(client, obj):
    """``obj``'s change form renders and says it was soft-deleted; the response, for further checks."""
    response = client.get(change_url(type(obj), obj.pk))
    assert response.status_code == 200
    assert b"was deleted (soft delete," in response.content
    return response


def each_model(models):
    """Parametrize a test over admin ``models``, each named in the test id."""
    return pytest.mark.parametrize("model", models, ids=lambda model: model.__name__)


def staff_user(*permissions: str, **fields):
    """A non-superuser staff member holding ``permissions`` ("app_label.codename")."""
    user = UserFactory(is_staff=True, **fields)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


__all__ = [
    "add_url",
    "assert_form_error",
    "assert_shows_deleted",
    "change_url",
    "changelist_url",
    "each_model",
    "form_data",
    "form_errors",
    "messages_of",
    "post_change_form",
    "queries_for",
    "run_action",
    "same_query_count",
    "staff_user",
]


def assert_soft_deleted_and_restored(client, row) -> None:
    """The soft-delete action hides ``row``; the restore action (on the "deleted" filter) brings it back."""
    model = type(row)
    run_action(client, model, "soft_delete_selected", [row])
    assert not model.objects.filter(pk=row.pk).exists()
    run_action(client, model, "restore_selected", [row], url_params={"deleted": "yes"})
    assert model.objects.filter(pk=row.pk).exists()
