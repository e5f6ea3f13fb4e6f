"""The version history kept by the database: every content change leaves the previous version behind."""

import pytest
from django.db import IntegrityError, connection, transaction

from knowledge.factories import KnowledgeDocumentFactory
from knowledge.models import KnowledgeDocument, KnowledgeDocumentVersion
from knowledge.services import acting_user
from users.factories import UserFactory

pytestmark = pytest.mark.django_db


def run_sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def history(document) -> list[tuple[int, str]]:
    return list(
        KnowledgeDocumentVersion.objects.filter(document=document).order_by("version").values_list("version", "content")
    )


def test_every_declared_constraint_has_a_test():
    assert {c.name for c in KnowledgeDocumentVersion._meta.constraints} == {
        "knowledge_knowledgedocumentversion_document_version_unique",
        "knowledge_knowledgedocumentversion_version_positive",
    }


def test_a_new_document_has_no_history():
    document = KnowledgeDocumentFactory()
    assert history(document) == []


@pytest.mark.parametrize("edits", [1, 2, 5])
def test_n_content_edits_leave_n_previous_versions(edits):
    document = KnowledgeDocumentFactory(content="original")
    for number in range(1, edits + 1):
        document.content = f"edit {number}"
        document.save()
    assert history(document) == [(1, "original")] + [(n, f"edit {n - 1}") for n in range(2, edits + 1)]
    assert document.version == edits + 1


def test_the_previous_version_keeps_name_and_description_as_they_were():
    document = KnowledgeDocumentFactory(name="Old name", description="Old description", content="old")
    document.name, document.description, document.content = "New name", "New description", "new"
    document.save()
    previous = document.versions.get()
    assert (previous.name, previous.description, previous.content) == ("Old name", "Old description", "old")


def test_a_queryset_update_of_the_content_is_recorded():
    document = KnowledgeDocumentFactory(content="before")
    KnowledgeDocument.objects.filter(pk=document.pk).update(content="after")
    assert history(document) == [(1, "before")]


def test_a_raw_sql_update_of_the_content_is_recorded():
    document = KnowledgeDocumentFactory(content="before")
    run_sql("UPDATE knowledge_documents SET content = %s WHERE id = %s", ["after", document.pk])
    assert history(document) == [(1, "before")]


def test_changes_to_other_fields_are_not_recorded():
    document = KnowledgeDocumentFactory()
    document.name = "Renamed"
    document.tags = ["other"]
    document.save()
    run_sql("UPDATE knowledge_documents SET category = %s WHERE id = %s", ["elsewhere", document.pk])
    assert history(document) == []


def test_rewriting_the_same_content_is_not_recorded():
    document = KnowledgeDocumentFactory()
    run_sql("UPDATE knowledge_documents SET content = content WHERE id = %s", [document.pk])
    assert history(document) == []


def test_the_acting_user_is_recorded_as_changed_by():
    user = UserFactory()
    document = KnowledgeDocumentFactory()
    with acting_user(user):
        KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    assert document.versions.get().changed_by == user


def test_changes_without_an_acting_user_have_no_changed_by():
    document = KnowledgeDocumentFactory()
    KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    assert document.versions.get().changed_by is None


def test_the_acting_user_does_not_outlive_its_block():
    document = KnowledgeDocumentFactory()
    with acting_user(UserFactory()):
        pass
    KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited later")
    assert document.versions.get().changed_by is None


def test_nested_acting_users_restore_the_outer_one():
    outer, inner = UserFactory(), UserFactory()
    document = KnowledgeDocumentFactory()
    with acting_user(outer):
        with acting_user(inner):
            KnowledgeDocument.objects.filter(pk=document.pk).update(content="by inner")
        KnowledgeDocument.objects.filter(pk=document.pk).update(content="by outer")
    assert [v.changed_by for v in document.versions.order_by("version")] == [inner, outer]


def test_a_malformed_user_setting_counts_as_unknown():
    document = KnowledgeDocumentFactory()
    with transaction.atomic():
        run_sql("SELECT set_config('gateway.user_id', %s, true)", ["not-a-uuid"])
        KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    assert document.versions.get().changed_by is None


def test_deleting_the_user_keeps_the_history_without_changed_by():
    user = UserFactory()
    document = KnowledgeDocumentFactory()
    with acting_user(user):
        KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    user.delete()
    assert document.versions.get().changed_by is None


def test_hard_deleting_the_document_deletes_its_history():
    document = KnowledgeDocumentFactory()
    KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    document.delete()
    assert not KnowledgeDocumentVersion.objects.exists()


def test_soft_deleting_the_document_keeps_its_history():
    document = KnowledgeDocumentFactory()
    KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    document.soft_delete()
    assert history(document) != []


@pytest.mark.parametrize(
    ("version", "constraint"),
    [
        (1, "knowledge_knowledgedocumentversion_document_version_unique"),  # version 1 is already kept
        (0, "knowledge_knowledgedocumentversion_version_positive"),
    ],
)
def test_the_versions_table_refuses_a_duplicate_or_a_non_positive_version(version, constraint):
    document = KnowledgeDocumentFactory()
    KnowledgeDocument.objects.filter(pk=document.pk).update(content="edited")
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        KnowledgeDocumentVersion.objects.create(document=document, version=version, name="x", content="refused")


def test_of_document_lists_versions_newest_first():
    document = KnowledgeDocumentFactory()
    other = KnowledgeDocumentFactory()
    for content in ("one", "two", "three"):
        KnowledgeDocument.objects.filter(pk=document.pk).update(content=content)
    KnowledgeDocument.objects.filter(pk=other.pk).update(content="elsewhere")
    assert [v.version for v in KnowledgeDocumentVersion.objects.of_document(document)] == [3, 2, 1]
