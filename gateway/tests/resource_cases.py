"""Test cases shared by the apps' ``test_api.py``: what every resource endpoint does the same way.

After NetBox's ``utilities/testing/api.py`` (``APIViewTestCases``): a resource's test class composes the cases
its endpoint has and declares, as class attributes, what they need (NetBox's ``model``, ``create_data``,
``update_data``...); the cases generate the list, retrieve, create, update, delete, scoping and soft-delete
tests. What only one resource does (status transitions, embedded summaries, computed fields, filters) stays a
plain test in the same class::

    class TestClips(SoftChildResourceCases):
        url = "/api/v1/clips/"
        model = Clip
        factory = ClipFactory
        owner = "asset__user"            # the owning user, as a lookup and as a factory_boy override
        parent = "asset"
        parent_factory = AssetFactory
        payload = staticmethod(clip_payload)   # clip_payload(asset, **overrides): a valid create payload
        update_changes = {"start_time": 2, "end_time": 4}
        partial_payload = {"has_music": True}
        invalid_values = [("score", 1.5), ("status", "LOST")]
        detail_max_queries = 4

The composites at the end name the usual sets (a user's soft rows, soft rows under a parent, hard-deleted rows
under a parent). The cases use the root ``conftest.py`` fixtures (``user``, ``other_user``, ``admin_user`` and
their clients). Writes go through ``writer`` / ``writer_client``: the ``user``, or an ADMIN where
``admin_writes`` says only ADMIN users may write the resource.
"""

import datetime

import pytest

from gateway.tests.api_helpers import client_for, error_body, ids

ROW_COUNTS = [3, 30]


def stored(row) -> dict:
    """The row's columns as the database holds them now (deleted rows included; vectors as lists)."""
    columns = type(row)._base_manager.filter(pk=row.pk).values().get()
    return {name: value.tolist() if hasattr(value, "tolist") else value for name, value in columns.items()}


def echoed(response, payload: dict) -> dict:
    """The part of a JSON answer that answers the payload's keys (to compare with the payload)."""
    data = response.json()
    return {key: data[key] for key in payload}


def names_in(rows: dict, response) -> set[str]:
    """The names (keys of ``rows``, a name -> row mapping) of the rows a list response returned."""
    by_id = {str(row.pk): name for name, row in rows.items()}
    return {by_id[row_id] for row_id in ids(response)}


class ResourceCases:
    """Retrieve, create, PUT, PATCH, invalid values, the ``created_at`` filter, a list in a fixed number of queries.

    Needs ``url``, ``model``, ``factory``, ``payload`` and ``partial_payload``; ``owner`` where users own the
    rows, ``parent`` and ``parent_factory`` where rows live under a parent; optionally ``update_changes`` (what
    a PUT changes from the create payload), ``created`` (values a new row answers with beyond its payload),
    ``invalid_values`` ((field, value) pairs each answered 400 naming the field) and ``list_max_queries``.
    """

    url: str
    model: type
    factory: type
    owner: str | None = None
    parent: str | None = None
    parent_factory: type | None = None
    admin_writes = False
    update_changes: dict = {}
    partial_payload: dict = {}
    created: dict = {}
    invalid_values: list = []
    list_max_queries = 4
    # Columns a PATCH may change besides the ones it names.
    derived_fields = frozenset({"updated_at"})

    def pytest_generate_tests(self, metafunc):
        if "rows" in metafunc.fixturenames:
            metafunc.parametrize("rows", ROW_COUNTS)
        if "invalid" in metafunc.fixturenames:
            labels = [f"{field}={value!r}"[:40] for field, value in self.invalid_values]
            metafunc.parametrize("invalid", self.invalid_values, ids=labels)
        if "required_field" in metafunc.fixturenames:
            metafunc.parametrize("required_field", self.required_fields)

    def detail(self, row, action=None) -> str:
        return f"{self.url}{row.pk}/" + (f"{action}/" if action else "")

    def retrieved(self, row) -> dict:
        """What the detail of ``row`` answers with (a subset)."""
        return {"id": str(row.pk)}

    def make(self, owner, **fields):
        """A row owned by ``owner`` (the factory makes the parents on the way)."""
        if self.owner:
            fields[self.owner] = owner
        return self.factory(**fields)

    def create_payload(self, owner, **overrides):
        """A valid create payload; under a parent, a new parent owned by ``owner``."""
        if self.parent:
            parent_owner = self.owner.split("__", 1)[1]
            return self.payload(self.parent_factory(**{parent_owner: owner}), **overrides)
        return self.payload(**overrides)

    def update_payload(self, row):
        """A valid PUT payload for ``row``: the create payload with ``update_changes``."""
        if self.parent:
            return self.payload(getattr(row, self.parent), **self.update_changes)
        return self.payload(**self.update_changes)

    def make_many(self, owner, count):
        return [self.make(owner) for _ in range(count)]

    @pytest.fixture
    def writer(self, request):
        return request.getfixturevalue("admin_user" if self.admin_writes else "user")

    @pytest.fixture
    def writer_client(self, writer):
        return client_for(writer)

    def test_retrieve(self, user, user_client):
        row = self.make(user)
        response = user_client.get(self.detail(row))
        assert response.status_code == 200
        assert echoed(response, self.retrieved(row)) == self.retrieved(row)

    def test_create_answers_the_new_row(self, writer, writer_client):
        payload = self.create_payload(writer)
        response = writer_client.post(self.url, payload)
        assert response.status_code == 201
        assert echoed(response, payload) == payload
        assert echoed(response, self.created) == self.created
        assert echoed(writer_client.get(f"{self.url}{response.json()['id']}/"), payload) == payload

    def test_update_replaces_the_fields(self, writer, writer_client):
        row = self.make(writer)
        payload = self.update_payload(row)
        response = writer_client.put(self.detail(row), payload)
        assert response.status_code == 200
        assert echoed(response, payload) == payload
        assert echoed(writer_client.get(self.detail(row)), payload) == payload

    def test_partial_update_changes_only_the_given_fields(self, writer, writer_client):
        row = self.make(writer)
        before = stored(row)
        response = writer_client.patch(self.detail(row), self.partial_payload)
        assert response.status_code == 200
        assert echoed(writer_client.get(self.detail(row)), self.partial_payload) == self.partial_payload
        after = stored(row)
        changed = {column for column in before if before[column] != after[column]}
        assert changed <= set(self.partial_payload) | self.derived_fields

    def test_invalid_values_are_400_naming_the_field_and_write_nothing(self, writer, writer_client, invalid):
        field, value = invalid
        payload = self.create_payload(writer, **{field: value})
        rows = self.model._base_manager.count()
        response = writer_client.post(self.url, payload)
        assert response.status_code == 400
        assert field in response.json()
        assert self.model._base_manager.count() == rows

    def test_created_at_range(self, user, user_client):
        moment = datetime.datetime(2025, 1, 10, tzinfo=datetime.UTC)
        old = self.make(user, created_at=moment - datetime.timedelta(days=5))
        new = self.make(user, created_at=moment)
        boundary = (moment - datetime.timedelta(days=1)).isoformat()
        assert ids(user_client.get(self.url, {"created_at_after": boundary})) == {str(new.pk)}
        assert ids(user_client.get(self.url, {"created_at_before": boundary})) == {str(old.pk)}

    def test_list_runs_a_fixed_number_of_queries(self, user, user_client, rows, django_assert_max_num_queries):
        self.make_many(user, rows)
        with django_assert_max_num_queries(self.list_max_queries):
            response = user_client.get(self.url, {"page_size": 100})
        assert response.json()["count"] == rows


class RequiredFieldCases:
    """Each of ``required_fields`` left out of a create is 400 naming it."""

    required_fields: list

    def test_required_fields(self, writer, writer_client, required_field):
        payload = self.create_payload(writer)
        del payload[required_field]
        response = writer_client.post(self.url, payload)
        assert response.status_code == 400
        assert required_field in response.json()


class ScopedCases:
    """Rows owned through ``owner`` (a lookup such as ``"user"`` or ``"asset__user"``): a USER reaches only their
    own, an ADMIN every one. ``scoped_actions`` lists (action, payload) pairs that must be 404 on another's row.
    """

    scoped_actions: list = []

    def test_list_shows_only_own_rows(self, user, user_client, other_user):
        mine = [self.make(user), self.make(user)]
        self.make(other_user)
        response = user_client.get(self.url)
        assert response.status_code == 200
        assert ids(response) == {str(row.pk) for row in mine}

    def test_admin_lists_every_row(self, user, other_user, admin_client_api):
        rows = [self.make(user), self.make(other_user)]
        assert ids(admin_client_api.get(self.url)) == {str(row.pk) for row in rows}

    def test_create_makes_the_caller_the_owner(self, user, user_client):
        response = user_client.post(self.url, self.create_payload(user))
        assert response.status_code == 201
        assert self.model.objects.filter(pk=response.json()["id"], **{self.owner: user}).exists()

    def test_someone_elses_row_is_404_everywhere(self, user_client, other_user):
        row = self.make(other_user)
        before = stored(row)
        assert user_client.get(self.detail(row)).status_code == 404
        assert user_client.put(self.detail(row), self.update_payload(row)).status_code == 404
        assert user_client.patch(self.detail(row), self.partial_payload).status_code == 404
        assert user_client.delete(self.detail(row)).status_code == 404
        for action, payload in self.scoped_actions:
            assert user_client.post(self.detail(row, action), payload).status_code == 404, action
        assert stored(row) == before


class OwnerFieldCases:
    """A writable ``user`` field: a USER may name only themselves, an ADMIN anyone (and may move the row)."""

    def test_the_new_row_names_the_caller_as_owner(self, user, user_client):
        assert user_client.post(self.url, self.create_payload(user)).json()["user"] == str(user.pk)

    def test_user_may_name_themselves_as_owner(self, user, user_client):
        assert user_client.post(self.url, self.create_payload(user, user=str(user.pk))).status_code == 201

    def test_user_cannot_create_a_row_for_someone_else(self, user, user_client, other_user):
        response = user_client.post(self.url, self.create_payload(user, user=str(other_user.pk)))
        assert response.status_code == 400
        assert "user" in response.json()
        assert not self.model._base_manager.exists()

    def test_admin_creates_a_row_for_another_user(self, other_user, admin_client_api):
        response = admin_client_api.post(self.url, self.create_payload(other_user, user=str(other_user.pk)))
        assert response.status_code == 201
        assert self.model.objects.get(pk=response.json()["id"]).user == other_user

    def test_admin_update_without_user_keeps_the_owner(self, user, admin_client_api):
        row = self.make(user)
        assert admin_client_api.put(self.detail(row), self.update_payload(row)).status_code == 200
        assert self.model.objects.get(pk=row.pk).user == user

    def test_admin_moves_a_row_to_another_owner(self, user, other_user, admin_client_api):
        row = self.make(user)
        assert admin_client_api.patch(self.detail(row), {"user": str(other_user.pk)}).status_code == 200
        assert self.model.objects.get(pk=row.pk).user == other_user

    def test_user_cannot_give_a_row_away(self, user, other_user, user_client):
        row = self.make(user)
        response = user_client.patch(self.detail(row), {"user": str(other_user.pk)})
        assert response.status_code == 400
        assert "user" in response.json()
        assert self.model.objects.get(pk=row.pk).user == user


class ParentCases:
    """Rows under a parent the caller must own and see; ``parent`` names the field (``"asset"``)."""

    def parent_of(self, payload):
        return getattr(self.model, self.parent).field.related_model._base_manager.get(pk=payload[self.parent])

    def test_cannot_create_under_someone_elses_parent(self, user_client, other_user):
        response = user_client.post(self.url, self.create_payload(other_user))
        assert response.status_code == 400
        assert self.parent in response.json()
        assert not self.model._base_manager.exists()

    def test_cannot_create_under_a_deleted_parent(self, user, user_client):
        payload = self.create_payload(user)
        self.parent_of(payload).soft_delete()
        response = user_client.post(self.url, payload)
        assert response.status_code == 400
        assert self.parent in response.json()

    def test_malformed_parent_id_is_400(self, user, user_client):
        payload = self.create_payload(user)
        payload[self.parent] = "nope"
        response = user_client.post(self.url, payload)
        assert response.status_code == 400
        assert self.parent in response.json()

    def test_rows_of_a_deleted_parent_are_hidden(self, user, user_client):
        row = self.make(user)
        getattr(row, self.parent).soft_delete()
        assert ids(user_client.get(self.url)) == set()
        assert user_client.get(self.detail(row)).status_code == 404


class SoftDeleteCases:
    """DELETE hides the row; an ADMIN hard-deletes with ``?hard=true``, restores, and lists deleted rows."""

    def test_delete_is_soft(self, writer, writer_client):
        row = self.make(writer)
        assert writer_client.delete(self.detail(row)).status_code == 204
        assert self.model.all_objects.get(pk=row.pk).deleted_at is not None
        assert writer_client.get(self.detail(row)).status_code == 404

    def test_admin_hard_delete_removes_the_row(self, user, admin_client_api):
        row = self.make(user)
        assert admin_client_api.delete(self.detail(row) + "?hard=true").status_code == 204
        assert not self.model.all_objects.filter(pk=row.pk).exists()

    def test_admin_hard_deletes_an_already_soft_deleted_row(self, user, admin_client_api):
        row = self.make(user)
        row.soft_delete()
        assert admin_client_api.delete(self.detail(row) + "?hard=true").status_code == 204
        assert not self.model.all_objects.filter(pk=row.pk).exists()

    def test_user_may_not_hard_delete(self, user, user_client):
        row = self.make(user)
        assert user_client.delete(self.detail(row) + "?hard=true").status_code == 403
        assert self.model.objects.filter(pk=row.pk).exists()

    def test_bad_hard_value_is_400(self, writer, writer_client):
        row = self.make(writer)
        assert writer_client.delete(self.detail(row) + "?hard=perhaps").status_code == 400
        assert self.model.objects.filter(pk=row.pk).exists()

    def test_admin_restores_the_row(self, user, admin_client_api):
        row = self.make(user)
        row.soft_delete()
        response = admin_client_api.post(self.detail(row, "restore"))
        assert response.status_code == 200
        assert response.json()["deleted_at"] is None
        assert self.model.objects.filter(pk=row.pk).exists()

    def test_restoring_a_live_row_changes_nothing(self, user, admin_client_api):
        row = self.make(user)
        before = stored(row)
        assert admin_client_api.post(self.detail(row, "restore")).status_code == 200
        assert stored(row) == before

    def test_user_may_not_restore(self, user, user_client):
        row = self.make(user)
        row.soft_delete()
        assert user_client.post(self.detail(row, "restore")).status_code == 403
        assert not self.model.objects.filter(pk=row.pk).exists()

    def test_admin_sees_deleted_rows_with_is_deleted(self, user, other_user, admin_client_api):
        live, deleted = self.make(user), self.make(other_user)
        deleted.soft_delete()
        assert ids(admin_client_api.get(self.url, {"is_deleted": "true"})) == {str(deleted.pk)}
        assert ids(admin_client_api.get(self.url, {"is_deleted": "false"})) == {str(live.pk)}
        assert ids(admin_client_api.get(self.url)) == {str(live.pk)}
        assert admin_client_api.get(self.detail(deleted), {"is_deleted": "true"}).status_code == 200

    def test_users_never_see_deleted_rows(self, user, user_client):
        row = self.make(user)
        row.soft_delete()
        assert ids(user_client.get(self.url, {"is_deleted": "true"})) == set()
        assert user_client.get(self.detail(row), {"is_deleted": "true"}).status_code == 404


class SoftParentCases:
    """A soft row under a soft ``parent``: it cannot be restored while its parent is deleted."""

    def test_a_row_of_a_deleted_parent_cannot_be_restored_alone(self, user, admin_client_api):
        row = self.make(user)
        getattr(row, self.parent).soft_delete()
        response = admin_client_api.post(self.detail(row, "restore"))
        assert response.status_code == 400
        assert error_body(response) == {self.parent: [f"The {self.parent} is deleted; restore it first."]}


class HardDeleteCases:
    """DELETE removes the row for good; there is nothing to restore."""

    def test_delete_removes_the_row(self, writer, writer_client):
        row = self.make(writer)
        assert writer_client.delete(self.detail(row)).status_code == 204
        assert not self.model._base_manager.filter(pk=row.pk).exists()

    def test_has_no_restore(self, user, admin_client_api):
        assert admin_client_api.post(self.detail(self.make(user), "restore")).status_code == 404


class DetailQueryCases:
    """A detail runs at most ``detail_max_queries`` however many rows ``embed(row, count)`` puts under it;
    ``assert_embedded(data, count)`` checks the answer shows them.
    """

    detail_max_queries: int

    def embed(self, row, count):
        """Rows the detail of ``row`` embeds (or that share its parent), ``count`` of them."""

    def assert_embedded(self, data, count):
        """The detail answer shows the ``count`` embedded rows."""

    def test_detail_runs_a_fixed_number_of_queries(self, user, user_client, rows, django_assert_max_num_queries):
        row = self.make(user)
        self.embed(row, rows)
        with django_assert_max_num_queries(self.detail_max_queries):
            response = user_client.get(self.detail(row))
        assert response.json()["id"] == str(row.pk)
        self.assert_embedded(response.json(), rows)


class OwnedSoftResourceCases(
    ResourceCases, RequiredFieldCases, ScopedCases, OwnerFieldCases, SoftDeleteCases, DetailQueryCases
):
    """A soft resource a user owns through its writable ``user`` field (assets, campaigns)."""


class SoftChildResourceCases(
    ResourceCases, ScopedCases, ParentCases, SoftDeleteCases, SoftParentCases, DetailQueryCases
):
    """A soft resource under a soft parent the user owns (clips, experiments)."""


class ChildResourceCases(ResourceCases, ScopedCases, ParentCases, HardDeleteCases, DetailQueryCases):
    """A hard-deleted resource under a parent the user owns (predictions, metrics, conversions)."""
