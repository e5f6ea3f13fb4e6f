"""Helpers shared by the apps' services."""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from gateway.models import IdempotencyKey, WrittenAt


def transition_error(*, field: str, current: str, requested: str, allowed: dict) -> ValidationError:
    """A field error naming the transitions allowed from ``current``."""
    choices = sorted(allowed.get(current, ()))
    allowed_text = ", ".join(choices) if choices else "none (it is final)"
    return ValidationError(
        {field: f"Cannot change status from {current} to {requested}. Allowed from {current}: {allowed_text}."}
    )


def check_transition(*, field: str, current: str, requested: str, allowed: dict) -> None:
    """Raise unless ``current`` -> ``requested`` is in ``allowed``; staying put is always allowed."""
    if requested != current and requested not in allowed.get(current, ()):
        raise transition_error(field=field, current=current, requested=requested, allowed=allowed)


def status_change(*, instance: models.Model, status: str, allowed: dict, **changes) -> models.Model:
    """Move the row of ``instance`` to ``status`` along the ``allowed`` transitions, writing ``changes`` with it.

    One ``UPDATE ... RETURNING`` (``status``, ``updated_at`` and ``changes``; soft-deleted rows too) whose
    ``WHERE`` admits only the statuses ``status`` may come from, and ``status`` itself: the transition is decided
    on the row as the statement finds it under its lock, which it holds to the end of the caller's transaction,
    and the row comes back as the statement left it. When no row matched, the row is read to say why: a
    transition that is not allowed is a ``ValidationError`` naming the allowed ones, a row that is gone
    ``DoesNotExist``, and a status that moved meanwhile to one it may leave for ``status`` is tried again.
    """
    rows = type(instance)._base_manager.filter(pk=instance.pk)
    sources = {status, *(source for source, targets in allowed.items() if status in targets)}
    if written := rows.filter(status__in=sources).update_returning(status=status, updated_at=WrittenAt(), **changes):
        return written[0]
    check_transition(field="status", current=rows.get().status, requested=status, allowed=allowed)
    return status_change(instance=instance, status=status, allowed=allowed, **changes)


def lock_row(instance: models.Model) -> models.Model:
    """The row of ``instance`` read again under ``SELECT ... FOR UPDATE`` (soft-deleted rows too).

    Call inside a transaction: the lock is held until it ends, so what the caller reads from the
    returned instance stays true until its own write commits.
    """
    return type(instance)._base_manager.select_for_update().get(pk=instance.pk)


@transaction.atomic
def model_update(*, instance: models.Model, fields: dict) -> models.Model:
    """Write ``fields`` (name -> value) to the row of ``instance`` and nothing else, under the row's lock.

    The row is locked and read again, the given fields are set on it, and only those whose value
    changed are saved (``update_fields``, with ``updated_at``), so a concurrent change of another
    column — a status, a counter, ``deleted_at`` — is never written back over. ``instance`` then gets
    the row as committed (its annotations and cached relations stay) and is returned.
    """
    row = lock_row(instance)
    changed = []
    for name, value in fields.items():
        field = row._meta.get_field(name)
        before = getattr(row, field.attname)
        setattr(row, name, value)
        if getattr(row, field.attname) != before:
            changed.append(field.name)
    if changed:
        row.save(update_fields=[*changed, "updated_at"] if hasattr(row, "updated_at") else changed)
        generated = [field.attname for field in row._meta.concrete_fields if field.generated]
        if generated:  # computed by the database from the columns just written
            row.refresh_from_db(fields=generated)
    copy_row(row, instance)
    return instance


def copy_row(source: models.Model, target: models.Model) -> None:
    """Give ``target`` the column values of ``source`` (same model and row), as ``refresh_from_db`` would."""
    for field in source._meta.concrete_fields:
        if field.attname in source.__dict__:
            setattr(target, field.attname, getattr(source, field.attname))


def idempotency_keys_purge(*, now=None) -> int:
    """Delete the idempotency keys that expired by ``now`` (default: now); how many went.

    Run by the periodic job ``gateway.tasks.purge_idempotency_keys`` and by ``manage.py purge_idempotency_keys``.
    An expired key is already ignored by the API (its key starts afresh), so this only frees the space.
    """
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
