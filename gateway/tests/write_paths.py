"""Helpers for the apps' write-path tests: the same change made in the admin and through the API.

Each app's ``tests/test_write_paths.py`` makes one change to two identical rows, one through the
admin's change form (as a browser posts it) and one through ``PATCH`` on the API, and checks that
both rows end up with the same columns: both paths go through the app's services.
"""

from gateway.tests.admin_helpers import change_url, form_data

# Columns that differ between two rows by construction.
ROW_IDENTITY = ("id", "created_at", "updated_at")


def columns_of(obj, *, ignore=()) -> dict:
    """The row of ``obj`` as stored, column by column, without its identity and the ``ignore`` columns."""
    model = type(obj)
    row = model._base_manager.filter(pk=obj.pk).values().get()
    skipped = {*ROW_IDENTITY, *ignore}
    # A vector column comes back as a numpy array, which ``==`` compares element by element.
    return {
        name: value.tolist() if hasattr(value, "tolist") else value
        for name, value in row.items()
        if name not in skipped
    }


def change_in_admin(client, obj, changes: dict) -> None:
    """Post ``obj``'s change form with ``changes`` (form values) over what the page showed."""
    url = change_url(type(obj), obj.pk)
    response = client.get(url)
    assert response.status_code == 200
    response = client.post(url, {**form_data(response), **changes})
    errors = response.context["adminform"].form.errors if response.context and "adminform" in response.context else None
    assert response.status_code == 302, errors


def change_in_api(client, url: str, changes: dict) -> None:
    """``PATCH`` ``url`` with ``changes`` (JSON)."""
    response = client.patch(url, changes, format="json")
    assert response.status_code == 200, response.content
