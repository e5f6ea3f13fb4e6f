"""Writes on knowledge documents: edits that keep their history, and restoring an old version.

The history itself is written by the database (trigger ``knowledge_documents_record_version``), so
every content change is kept however it is made; these services add who made it, by naming the user in
the transaction-local setting ``gateway.user_id`` that the trigger reads.
"""

from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from knowledge.models import KnowledgeDocument, KnowledgeDocumentVersion
from knowledge.search import validate_embedding

EDITABLE_FIELDS = (
    "name",
    "description",
    "content",
    "embedding",
    "embedding_model",
    "category",
    "tags",
    "source",
    "author",
    "metadata",
)


@contextmanager
def acting_user(user, *, using: str = DEFAULT_DB_ALIAS):
    """Inside a transaction, attribute document changes made in the block to ``user`` (``None``: unknown).

    Sets ``gateway.user_id`` with ``set_config(..., true)``, so the value can never outlive the
    transaction (a pooled connection does not carry it to the next request), and puts the previous value
    back when the block ends.
    """
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT current_setting('gateway.user_id', true)")
        previous = cursor.fetchone()[0] or ""
        cursor.execute("SELECT set_config('gateway.user_id', %s, true)", [str(user.pk) if user is not None else ""])
        yield
        # On an exception the savepoint rollback of atomic() undoes set_config by itself.
        cursor.execute("SELECT set_config('gateway.user_id', %s, true)", [previous])


@transaction.atomic
def knowledge_document_update(*, document: KnowledgeDocument, user=None, **fields) -> KnowledgeDocument:
    """Change any of a document's editable fields, as ``user``; returns the updated document.

    The row is locked meanwhile. When the content changes, the database raises ``version`` by one and
    keeps the previous version (with ``user`` as ``changed_by``) in ``knowledge_document_versions``.
    Raises ``ValidationError`` for unknown or read-only fields and for invalid values.
    """
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown or read-only field."))
    if fields.get("embedding") is not None:
        try:
            fields["embedding"] = validate_embedding(fields["embedding"])
        except ValidationError as exc:
            raise ValidationError({"embedding": exc.messages}) from exc
    locked = KnowledgeDocument.all_objects.select_for_update().get(pk=document.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    with acting_user(user):
        # Only the given fields: a concurrent soft delete or edit of another field is never written over.
        locked.save(update_fields=[*fields, "updated_at"])
    return locked


@transaction.atomic
def knowledge_document_restore_version(*, document: KnowledgeDocument, version: int, user=None) -> KnowledgeDocument:
    """Make an earlier version's content current again, as a new version (history is never rewritten).

    A document at version ``n + 1`` restored to version 1 gets version ``n + 2`` with version 1's content,
    and version ``n + 1`` joins the history. Only the content is restored: it is what versions track.
    Raises ``ValidationError`` on ``version`` when there is no such earlier version or it has the same
    content as the current one.
    """
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError({"version": "Must be an integer."})
    locked = KnowledgeDocument.all_objects.select_for_update().get(pk=document.pk)
    if version == locked.version:
        raise ValidationError({"version": f"Version {version} is the current version."})
    try:
        previous = locked.versions.get(version=version)
    except KnowledgeDocumentVersion.DoesNotExist:
        stored = list(locked.versions.order_by("version").values_list("version", flat=True))
        available = ", ".join(map(str, stored)) if stored else "none"
        raise ValidationError(
            {"version": f"Document has no earlier version {version}. Earlier versions: {available}."}
        ) from None
    if previous.content == locked.content:
        raise ValidationError({"version": f"Version {version} has the same content as the current version."})
    return knowledge_document_update(document=locked, user=user, content=previous.content)
