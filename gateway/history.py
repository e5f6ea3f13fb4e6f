"""The history of every change: database triggers write it, whatever made the change (docs/HISTORY.md).

django-pghistory installs, on each tracked table, triggers that copy the row into the model's event table
(``<Model>Event``: ``pgh_id``, ``pgh_created_at``, ``pgh_label`` insert/update/delete, ``pgh_obj`` the row,
``pgh_context`` who and why, then the tracked columns). Being triggers, they catch every path: the API, the
admin, a service's ``.update()``, a job, a command, raw SQL.

Who made a change comes from pghistory's context: for the length of a request, a job or a management
command, every write statement Django sends is prefixed with ``SELECT set_config('pghistory.context_metadata',
…, true)`` and the triggers copy that JSON into the event's ``pgh_context``:

- a request (``HistoryContextMiddleware``): ``request_id`` (gateway/request_context.py), ``path``, and the
  ``user`` (its id) with the ``api_key_prefix`` once authentication knows them (``request_context.identify``,
  which DRF's API-key authentication calls after Django's middleware has run);
- a job (``job_context``, from gateway/jobs.py): the request id that queued it, ``job`` (the task) and ``user``;
- a management command (``command_context``, from manage.py): ``command``;
- raw SQL outside Django, ``psql``: no context (``pgh_context`` is null).

The variables are local to the transaction (``set_config(..., true)``) and sent in the same query string as
the statement, so they work behind PgBouncer in transaction mode and leave nothing on a pooled connection.

The apps declare what they track: ``@tracked(exclude=[...])`` on the model (this module never imports them).
Every event model stands on ``gateway.models.EventBase`` (a 64-bit ``pgh_id``). ``events_purge`` deletes what
``HISTORY_RETENTION_DAYS`` no longer keeps (the daily job ``gateway.tasks.purge_history_events``).
"""

import contextlib
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pghistory
import pgtrigger
from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from gateway.request_context import current_request_id

# Columns an event never copies: ``updated_at`` moves with every change (the event has its own time).
ALWAYS_EXCLUDED = ("updated_at",)
# The history purge walks each event table by ``pgh_id`` in windows this wide: one short statement each.
PURGE_WINDOW = 10_000
# Commands that run without a history context: the serving ones (each request and job has its own context), and
# those that run schema or whole-database SQL, where pghistory's prefix would add parameters to statements sent
# without any (a literal "%" in a migration's SQL would then read as a placeholder).
NO_CONTEXT_COMMANDS = {
    "runserver",
    "devserver",
    "procrastinate",
    "migrate",
    "makemigrations",
    "sqlmigrate",
    "squashmigrations",
    "flush",
    "dbshell",
    "test",
    "pgtrigger",
    "backup",
    "restore",
}


def tracked(*, exclude: tuple[str, ...] = ()):
    """Class decorator: keep every insert, update and hard delete of the model in ``<Model>Event``.

    ``exclude`` names columns left out of the events (secrets, hashes, bookkeeping such as ``last_used_at``);
    a change of only those columns makes no event. The event table is append-only (a trigger refuses
    updates and deletes) and its context is denormalised (``pgh_context`` JSON on each event, no join).
    """

    def decorate(model):
        from gateway.models import EventBase  # this module is imported before the apps are ready (manage.py)

        return pghistory.track(
            pghistory.InsertEvent(),
            pghistory.UpdateEvent(),
            pghistory.DeleteEvent(),
            exclude=[*ALWAYS_EXCLUDED, *exclude],
            obj_field=pghistory.ObjForeignKey(related_name="history_events", db_index=True),
            context_field=pghistory.ContextJSONField(),
            append_only=True,
            model_name=f"{model.__name__}Event",
            base_model=EventBase,
        )(model)

    return decorate


def is_tracked(model) -> bool:
    """Whether ``model`` has an event model (it was declared ``@tracked``)."""
    return hasattr(model, "history_events")


def context(**metadata):
    """pghistory's context for a block of work: every tracked change in it carries ``metadata``."""
    return pghistory.context(**{key: value for key, value in metadata.items() if value is not None})


def job_context(*, request_id: str, task: str, user_id=None):
    """The context of a job: the request that queued it, the task's name and who queued it."""
    return context(request_id=request_id, job=task, user=str(user_id) if user_id is not None else None)


def command_context(argv: list[str]):
    """The context of ``manage.py <command>`` (none for ``NO_CONTEXT_COMMANDS``)."""
    name = argv[1] if len(argv) > 1 else None
    if name is None or name in NO_CONTEXT_COMMANDS or name.startswith("-"):
        return contextlib.nullcontext()
    return context(command=name)


class HistoryContextMiddleware:
    """Every request's tracked changes carry its request id, its path and who made them.

    Placed after ``AuthenticationMiddleware``: a write (any method but GET, HEAD, OPTIONS) names the session's
    user at once. An API key's user and prefix come later, from DRF's authentication (``request_context.identify``).
    A read leaves a lazy session user unloaded (that would cost a query).
    """

    SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        metadata = {"request_id": getattr(request, "request_id", None) or current_request_id(), "path": request.path}
        user = getattr(request, "user", None)
        if request.method not in self.SAFE_METHODS and user is not None and user.is_authenticated:
            metadata["user"] = str(user.pk)
        with context(**metadata):
            return self.get_response(request)


def ignored():
    """Write without history (bulk seeding of generated data): no trigger of pgtrigger's fires in the block.

    The ignore list is a transaction-local variable sent with each Django statement: a raw psycopg COPY sees
    it when a Django statement ran earlier in the same transaction.
    """
    return pgtrigger.ignore()


@dataclass
class Change:
    """One field of one event: its name, its label and the values before and after."""

    field: str
    label: str
    old: Any
    new: Any


@dataclass
class HistoryEvent:
    """One event of a row's history, as the admin and the API show it."""

    id: int
    created_at: Any
    event: str
    changes: list[Change]
    user: str | None
    api_key_prefix: str | None
    job: str | None
    command: str | None
    request_id: str | None

    @property
    def actor(self) -> str:
        """Who made the change, in words: a user (with the API key), a job, a command, or the database."""
        if self.user:
            return f"user {self.user}" + (f" with API key {self.api_key_prefix}" if self.api_key_prefix else "")
        if self.job:
            return f"job {self.job}"
        if self.command:
            return f"command {self.command}"
        return "database (no context)"


def as_shown(field: models.Field, value):
    """A value of an event's JSON as the API shows the field: a decimal as a string with its places ("12.50").

    The events' JSON holds decimals as numbers, which read back as floats (``12.5``).
    """
    if value is None or not isinstance(field, models.DecimalField) or isinstance(value, bool):
        return value
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-field.decimal_places)))


def history_of(obj):
    """The events of ``obj``'s row, newest first, each with its diff against the one before (a queryset)."""
    from pghistory.models import Events  # manage.py imports this module before Django's apps are ready

    return Events.objects.tracks(obj).order_by("-pgh_id")


def history_events(model, rows) -> list[HistoryEvent]:
    """``rows`` of ``history_of`` (a page of them) as ``HistoryEvent``s, with ``model``'s field names and labels."""
    by_column = {field.column: field for field in model._meta.concrete_fields}
    events = []
    for row in rows:
        context = row.pgh_context or {}
        if isinstance(context, str):
            context = json.loads(context)
        changes = []
        for column, (old, new) in sorted((row.pgh_diff or {}).items()):
            field = by_column.get(column)
            if field is None:
                continue
            old, new = as_shown(field, old), as_shown(field, new)
            changes.append(Change(field=field.name, label=str(field.verbose_name), old=old, new=new))
        events.append(
            HistoryEvent(
                id=row.pgh_id,
                created_at=row.pgh_created_at,
                event=row.pgh_label,
                changes=changes,
                user=context.get("user"),
                api_key_prefix=context.get("api_key_prefix"),
                job=context.get("job"),
                command=context.get("command"),
                request_id=context.get("request_id"),
            )
        )
    return events


def event_model_of(model) -> type[models.Model]:
    """The event model of a tracked ``model``."""
    return model._meta.get_field("history_events").related_model


def events_purge(*, older_than: timedelta) -> int:
    """Delete the events ``older_than`` that no kept event needs; how many went (``HISTORY_RETENTION_DAYS``).

    Each row keeps its last event of that age: the state its next change is shown against. A row whose last such
    event is its (hard) deletion keeps nothing. Each event table is walked by ``pgh_id`` in windows of
    ``PURGE_WINDOW``, one ``DELETE`` each, its append-only trigger ignored for that statement alone: every other
    write to an event table is still refused.
    """
    before, removed = timezone.now() - older_than, 0
    for event_model in [event_model_of(model) for model in apps.get_models() if is_tracked(model)]:
        expired = event_model.objects.filter(pgh_created_at__lt=before)
        # The newest expired event bounds the walk (its search walks the primary key back from the end).
        last = expired.order_by("-pgh_id").values_list("pgh_id", flat=True).first()
        if last is None:
            continue
        first = event_model.objects.order_by("pgh_id").values_list("pgh_id", flat=True).first()
        superseded = Exists(expired.filter(pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__gt=OuterRef("pgh_id")))
        purgeable = expired.filter(superseded | Q(pgh_label="delete"))
        for start in range(first, last + 1, PURGE_WINDOW):
            with pgtrigger.ignore(f"{event_model._meta.label}:append_only"):
                deleted, _ = purgeable.filter(pgh_id__gte=start, pgh_id__lt=start + PURGE_WINDOW).delete()
            removed += deleted
    return removed
