"""Shared model bases: UUID primary keys, timestamps, soft delete and the history's event models."""

import re
import uuid

import orjson
import pghistory.models
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from gateway.db.compiled import update_plan


def substring_search_index(field: str, name: str) -> GinIndex:
    """A trigram index on ``UPPER(field)``: what serves the admin's substring search (``field__icontains``,
    which PostgreSQL runs as ``UPPER(field::text) LIKE UPPER('%term%')``) without reading the whole table."""
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)


class JSONField(models.JSONField):
    """Django's ``JSONField``, its values read by orjson: a tenth of ``json.loads``'s time per value.

    Django reads a ``jsonb`` value as text and parses it in ``from_db_value``; an asset's detail parses two per
    clip. Only where orjson reads a text exactly as ``json.loads`` does: orjson turns an integer past 64 bits
    into a float, so a text with a run of 19 digits or more (any such integer has one) goes to Django's
    ``json.loads``, as does one orjson refuses (``NaN``, a number past a double) or a field with a decoder.
    """

    WIDE_INTEGER = re.compile(r"\d{19}")

    def from_db_value(self, value, expression, connection):
        if self.decoder is None and isinstance(value, str) and not self.WIDE_INTEGER.search(value):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)


class WrittenAt(models.Func):
    """The time the database writes a row, for ``updated_at`` in an ``UPDATE``: PostgreSQL's ``clock_timestamp()``.

    An ``UPDATE`` that waited for another writer of its row computes its new values again on the row that writer
    committed (PostgreSQL's re-check under READ COMMITTED), and reads this clock then: the stamps of one row's
    writes follow the order they commit in. ``timezone.now()`` (taken before the statement) and Django's
    ``Now()`` (the statement's start) are both taken before that wait: a write that waited would stamp a time
    earlier than the write it waited for.
    """

    template = "clock_timestamp()"
    output_field = models.DateTimeField()


class BaseModel(models.Model):
    """A UUID primary key and timezone-aware creation/update times, shared by every table."""

    id = models.UUIDField("id", primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField("created at", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    class Meta:
        abstract = True


class EventBase(pghistory.models.Event):
    """The base of every history event model (``gateway.history.tracked``): pghistory's, with a 64-bit ``pgh_id``.

    pghistory's own is a 32-bit ``AutoField``: an event table's sequence runs out after 2,147,483,647 events, and
    then every write to its tracked table fails (its trigger cannot insert the event). A retention purge does not
    help: the sequence never goes back. One event per new conversion makes that reachable.
    """

    pgh_id = models.BigAutoField(primary_key=True)

    class Meta:
        abstract = True


class QuerySet(models.QuerySet):
    """Django's queryset, plus an ``UPDATE`` that answers with the rows it wrote (the base of every soft and owned
    queryset)."""

    def update_returning(self, **changes) -> list:
        """``update(**changes)`` in one ``UPDATE ... RETURNING``: the rows as the statement left them, as instances.

        One statement where ``update()`` and a read of the rows take two (and a second round trip): the answer is
        what this write left, never a later writer's change, and it needs no transaction of its own. Compiled by
        Django's update compiler, as ``update()`` compiles it (the same SQL, ``RETURNING`` every concrete column
        appended) and loaded with the fields' own converters; Django 5.2 has no such method of its own. A change
        to a parent model's field (multi-table inheritance), which ``update()`` makes in statements of its own,
        is refused.
        """
        if (plan := update_plan(self, changes)) is None:  # e.g. .none(): no row can match, nothing is sent
            return []
        return plan.run({})


class SoftDeleteQuerySet(QuerySet):
    def alive(self):
        """Rows that are not soft-deleted."""
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        """Soft-deleted rows (reach them through ``all_objects``: the default manager hides them)."""
        return self.filter(deleted_at__isnull=False)

    def delete(self):
        """Django's hard delete of the rows, locked first in ``pk`` order, as ``SoftDeleteModel.delete`` locks its row
        (the console's "Permanently delete selected" comes here)."""
        if self.query.is_sliced:
            return super().delete()  # Django refuses it, and says why
        with transaction.atomic(using=self.db):
            lock_rows(self.model, self.values("pk"), using=self.db)
            return super().delete()


class OwnedQuerySet(QuerySet):
    """Rows that belong to a user through ``owner_path`` (e.g. ``"user"``, ``"asset__user"``).

    ``visible_to(user)`` is the one rule of who reaches what, shared by the API's viewsets, its
    related fields and the ingests: an ADMIN every row, another authenticated user the rows they
    own, nobody else none. The role comes in through ``user.is_admin``, so this floor needs no app.
    """

    owner_path: str = "user"

    def owned_by(self, user):
        """The rows ``user`` owns."""
        return self.filter(**{self.owner_path: user})

    def visible_to(self, user):
        """The rows ``user`` may reach: all for an ADMIN, their own for others, none when anonymous."""
        if user is None or not user.is_authenticated:
            return self.none()
        if getattr(user, "is_admin", False):
            return self.all()
        return self.owned_by(user)


class SoftDeleteManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """The default manager of soft models: deleted rows are hidden."""

    def get_queryset(self):
        return super().get_queryset().alive()

    def create(self, **kwargs):
        # A new row is alive: its INSERT needs no `alive()` filter built first (a few percent of a clip's create, in
        # Python), so it goes through the unfiltered queryset.
        return super().get_queryset().create(**kwargs)


AllObjectsManager = models.Manager.from_queryset(SoftDeleteQuerySet)


def lock_rows(model, pks, *, using: str) -> None:
    """``SELECT ... FOR UPDATE`` the rows of ``model`` whose pk is in ``pks`` (a list or a ``values("pk")``
    queryset), in pk order so two lockers of overlapping rows cannot deadlock; inside the caller's transaction."""
    list(model._base_manager.using(using).select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk"))


class SoftDeleteModel(BaseModel):
    """A row that is hidden rather than removed.

    ``soft_delete()`` stamps ``deleted_at`` on the row and on the soft children named in
    ``soft_delete_children`` (related names); ``restore()`` clears it on the row and on exactly the
    children that were deleted with it (same stamp), leaving children deleted earlier on their own
    deleted. ``delete()`` stays Django's hard delete, with the row locked first (see there).
    """

    soft_delete_children: tuple[str, ...] = ()

    deleted_at = models.DateTimeField("deleted at", null=True, blank=True, editable=False)

    objects = SoftDeleteManager()
    all_objects = AllObjectsManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def delete(self, using=None, keep_parents=False):
        """Django's hard delete, with the row locked (``SELECT ... FOR UPDATE``) before the rows that go with it
        are collected.

        A writer that adds a child under the row's lock (the embedding job writing a document's chunks) has then
        committed, and its rows are collected and removed too. Without the lock the delete collected the
        children first and deleted the row after the writer committed: the writer's rows pointed at nothing and
        the deferred foreign key refused the whole delete at its commit (a 400 in the API, a 500 in the console).
        """
        using = using or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            lock_rows(type(self), [self.pk], using=using)
            return super().delete(using=using, keep_parents=keep_parents)

    @transaction.atomic
    def soft_delete(self, *, at=None) -> None:
        if self.deleted_at is not None:
            return
        self._set_deleted_at(deleted_at=at or timezone.now(), where_deleted_at=None)

    @transaction.atomic
    def restore(self) -> None:
        if self.deleted_at is None:
            return
        self._set_deleted_at(deleted_at=None, where_deleted_at=self.deleted_at)

    def _set_deleted_at(self, *, deleted_at, where_deleted_at) -> None:
        """Move this row and its soft children whose stamp is ``where_deleted_at`` to ``deleted_at``."""
        now = timezone.now()
        type(self).all_objects.filter(pk=self.pk).update(deleted_at=deleted_at, updated_at=now)
        for related_name in self.soft_delete_children:
            children = self._child_queryset(related_name).filter(deleted_at=where_deleted_at)
            if children.model.soft_delete_children:
                for child in children:
                    child._set_deleted_at(deleted_at=deleted_at, where_deleted_at=where_deleted_at)
            else:
                children.update(deleted_at=deleted_at, updated_at=now)
        # Only once the database has taken every write, so a failure leaves the instance as it was.
        self.deleted_at = deleted_at

    def _child_queryset(self, related_name):
        relation = self._meta.get_field(related_name)
        return relation.related_model.all_objects.filter(**{relation.field.name: self})


class JobRecord(models.Model):
    """Who queued a job, from which request, and what it came to: the API's view of a Procrastinate job.

    Procrastinate keeps the job itself (task, arguments, status, attempts, events) in ``procrastinate_jobs``;
    this row shares its id. It is written when a request queues a job (``gateway.jobs.defer``: the caller and
    the request id) and when a job ends (``gateway.jobs.job_middleware``: the task's result or its error),
    so a periodic job gets one too, without an owner. No database foreign key to Procrastinate's table:
    its clean-up may remove old jobs, and their records then simply stop being found.
    """

    job = models.OneToOneField(
        "procrastinate.ProcrastinateJob",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="record",
        verbose_name="job",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="job_records",
        verbose_name="queued by",
        db_index=False,
    )
    request_id = models.CharField("request id", max_length=128, null=True, blank=True)
    result = JSONField("result", null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField("error", null=True, blank=True)
    created_at = models.DateTimeField("created at", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        db_table = "job_records"
        verbose_name = "job record"
        verbose_name_plural = "job records"
        indexes = [
            models.Index(fields=["user"], name="gateway_jobrecord_user_idx"),
            models.Index(fields=["created_at"], name="gateway_jobrecord_created_idx"),
        ]

    def __str__(self):
        return f"job {self.job_id}"


class ExportState(models.TextChoices):
    PENDING = "PENDING", "pending"
    RUNNING = "RUNNING", "running"
    READY = "READY", "ready"
    FAILED = "FAILED", "failed"


class AdminExport(models.Model):
    """A staff member's export of a changelist too large for one request, built by a job and kept for download.

    The file lives in PostgreSQL, the store every app server and worker reaches (several servers run behind a
    load balancer and none keeps files). ``model`` (``app_label.model_name``), ``query`` (the changelist's query
    string: filters, search, ordering) and ``file_format`` say what to build again in the worker, as the owner
    sees it in the console. Only the owner, or a superuser, may download it; old exports are purged
    (``ADMIN_EXPORT_RETENTION_HOURS``).
    """

    id = models.UUIDField("id", primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="admin_exports",
        verbose_name="owner",
        db_index=False,
    )
    model = models.CharField("model", max_length=100, help_text="app_label.model_name")
    query = models.TextField("filters", blank=True, default="", help_text="The changelist's query string.")
    file_format = models.CharField("format", max_length=10)
    state = models.CharField("state", max_length=10, choices=ExportState.choices, default=ExportState.PENDING)
    row_count = models.BigIntegerField("rows", null=True, blank=True)
    file_name = models.CharField("file name", max_length=200, blank=True, default="")
    content_type = models.CharField("content type", max_length=100, blank=True, default="")
    content = models.BinaryField("file", null=True, blank=True)
    error = models.TextField("error", blank=True, default="")
    job_id = models.BigIntegerField("job", null=True, blank=True)
    created_at = models.DateTimeField("created at", default=timezone.now, editable=False)
    finished_at = models.DateTimeField("finished at", null=True, blank=True)

    class Meta:
        db_table = "admin_exports"
        verbose_name = "export"
        verbose_name_plural = "exports"
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="gateway_export_owner_idx"),
            models.Index(fields=["created_at"], name="gateway_export_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ExportState.values), name="gateway_adminexport_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(row_count__isnull=True) | models.Q(row_count__gte=0),
                name="gateway_adminexport_row_count_non_negative",
            ),
        ]

    def __str__(self):
        return self.file_name or f"{self.model} export"


class ImportUpload(models.Model):
    """A file uploaded for an import, kept between its dry run and its confirmation.

    The confirmation may reach another app server than the upload did, so the file waits in PostgreSQL
    (django-import-export's temporary storage, ``gateway.admin.transfer.DatabaseTmpStorage``), not on a disk.
    The confirmation removes it; the purge job removes the ones never confirmed.
    """

    id = models.UUIDField("id", primary_key=True, default=uuid.uuid4, editable=False)
    content = models.BinaryField("file")
    created_at = models.DateTimeField("created at", default=timezone.now, editable=False)

    class Meta:
        db_table = "admin_import_uploads"
        verbose_name = "import upload"
        verbose_name_plural = "import uploads"
        indexes = [models.Index(fields=["created_at"], name="gateway_upload_created_idx")]

    def __str__(self):
        return f"upload {self.id}"


# The characters of an Idempotency-Key: a UUID, a ULID, a hash or a client's own "order-42:retry" all fit.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:~+/=-]{1,255}$"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to its retries until ``expires_at``.

    One row per key per API key (per user for a session: ``api_key_id`` null). It is inserted in the
    transaction of the request it belongs to, before the write, and gets the answer in the same transaction,
    so it commits with the write or not at all; a row waiting for its answer is invisible to others, and
    a concurrent request with the same key waits on the unique index until it commits (see
    ``gateway.api.idempotency``). Only successful (2xx) answers are stored. Expired rows are deleted by
    the ``purge_idempotency_keys`` job and command.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idempotency_keys",
        verbose_name="user",
        db_index=False,
    )
    api_key_id = models.UUIDField("API key id", null=True, blank=True, help_text="Null for a session's requests.")
    key = models.CharField("key", max_length=255)
    fingerprint = models.CharField(
        "request fingerprint", max_length=64, help_text="SHA-256 of the method, the path and the JSON body."
    )
    status_code = models.PositiveSmallIntegerField("status code", null=True, blank=True)
    response_body = models.BinaryField("response body", default=b"")
    response_headers = JSONField("response headers", default=dict, blank=True)
    created_at = models.DateTimeField("created at", default=timezone.now, editable=False)
    expires_at = models.DateTimeField("expires at")

    class Meta:
        db_table = "idempotency_keys"
        verbose_name = "idempotency key"
        verbose_name_plural = "idempotency keys"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "api_key_id", "key"], nulls_distinct=False, name="gateway_idempotencykey_unique_key"
            ),
            models.CheckConstraint(
                condition=models.Q(key__regex=IDEMPOTENCY_KEY_PATTERN), name="gateway_idempotencykey_key_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status_code__isnull=True) | models.Q(status_code__gte=200, status_code__lt=300),
                name="gateway_idempotencykey_status_2xx",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="gateway_idempotencykey_exp_idx")]

    def __str__(self):
        return self.key
