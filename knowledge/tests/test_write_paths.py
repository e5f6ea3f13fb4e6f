"""The admin and the API make the same change the same way: both go through ``knowledge.services``."""

import pytest

from gateway.tests.write_paths import change_in_admin, change_in_api, columns_of
from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeDocumentVersion

pytestmark = pytest.mark.django_db

API = "/api/v1"


def twin_documents():
    fields = {"name": "Hooks", "description": "First seconds.", "content": "Open on a face.", "author": "Ana"}
    return KnowledgeDocumentFactory(**fields), KnowledgeDocumentFactory(**fields)


def test_a_document_changed_in_the_admin_and_the_api_is_the_same_row(admin_client, admin_client_api):
    in_admin, in_api = twin_documents()
    changes = {"name": "Hooks that hold", "category": "creative", "content": "Open on a face, then move."}
    change_in_admin(admin_client, in_admin, changes)
    change_in_api(admin_client_api, f"{API}/knowledge-documents/{in_api.pk}/", changes)
    assert columns_of(in_admin) == columns_of(in_api)
    assert columns_of(in_api)["version"] == 2
    # Both paths kept the replaced content as version 1, recorded as the same ADMIN's change.
    kept = [
        KnowledgeDocumentVersion.objects.values("version", "content", "changed_by").get(document=document)
        for document in (in_admin, in_api)
    ]
    assert kept[0] == kept[1]
