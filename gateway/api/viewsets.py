"""The base viewset every resource builds on: owner scoping, soft delete, restore, one transaction per write,
ETags and ``If-Match`` (``gateway.api.conditional``), ``Idempotency-Key`` (``gateway.api.idempotency``)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models.query import MAX_GET_RESULTS
from django.http import Http404
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from gateway.api import conditional, idempotency
from gateway.api.pagination import PageNumberPagination, with_unique_ordering
from gateway.api.permissions import IsAdmin, is_admin
from gateway.api.representation import represent_rows, row_plan, row_values
from gateway.api.serializers import REPEATED_PARAMETER
from gateway.db.compiled import CompiledQuery, CountOf
from gateway.paginator import CountedRows, counted

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
# Actions whose row is read with SELECT ... FOR UPDATE, inside the transaction of the whole request. (A hard
# delete locks its row itself: ``SoftDeleteModel.delete``.)
LOCKING_ACTIONS = {"update", "partial_update"}

HARD_DELETE_PARAMETER = OpenApiParameter(
    "hard",
    OpenApiTypes.BOOL,
    description="ADMIN only: remove the row (and what cascades from it) instead of soft-deleting it.",
)


def query_flag(request, name: str) -> bool:
    """A boolean query parameter; anything but a yes/no spelling, or the parameter given twice, is a 400 naming it."""
    given = request.query_params.getlist(name)
    if not given:
        return False
    if len(given) > 1:
        raise exceptions.ValidationError({name: [REPEATED_PARAMETER]})
    raw = given[0]
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise exceptions.ValidationError({name: ["Must be true or false."]})


def row_action(
    request,
    responses,
    *,
    summary: str,
    description: str,
    url_path: str | None = None,
    operation_id: str | None = None,
):
    """Decorate a viewset method as a detail POST ``@action`` on one row, documented with its body and answer.

    Most such actions are one ``apply_service`` call; the schema is what ``extend_schema`` makes of the arguments.
    The action runs in one transaction, so its ``get_object()`` (and its ``If-Match`` check) and its write
    commit together. ``operation_id`` names the operation where the action's URL is not the verb a client
    calls (``clips_score``).
    """

    def decorate(method):
        method = action(detail=True, methods=["post"], url_path=url_path)(transaction.atomic(method))
        return extend_schema(
            request=request, responses=responses, summary=summary, description=description, operation_id=operation_id
        )(method)

    return decorate


class ScopedModelViewSet(viewsets.ModelViewSet):
    """CRUD over one model, limited to the rows the caller may reach.

    Subclasses declare ``queryset`` (the model's default manager), ``serializer_class``, optionally
    ``serializer_classes`` per action (e.g. an embedding one for ``retrieve``), ``filterset_class``
    and ``search_fields``, and put their ``select_related``/``prefetch_related`` in
    ``optimize_queryset``. Scoping happens in ``get_queryset``: an ADMIN reaches every row, anyone
    else the rows ``queryset.visible_to(user)`` returns (override ``scope_queryset`` otherwise; set
    ``owner_scoped = False`` for resources every user reads). A row out of reach is a 404.

    ``live_parent`` names the relation (e.g. ``"clip"``) whose soft deletion hides the row from
    non-ADMIN users, for rows that are not soft themselves. Each create, update and delete runs in
    one transaction. Domain operations are ``@action`` methods on the subclasses; they get their row
    with ``self.get_object()`` and so inherit the scoping.

    A list page is read as rows (``values()`` of the serialized columns, no model instances) when the
    serializer's fields are all columns of the row or of a row its foreign key joins (``row_plan``); a scoped
    caller's plain page (no query string but its number and size) is read and counted by SQL compiled once per
    viewset, serializer and role (``ListRows``).

    An update (PUT, PATCH) locks its row for the whole request: the serializer validates against the
    row as it is now, a row deleted meanwhile is a 404, and the serializer's ``update`` (a service)
    writes only the fields it was given, so no concurrent write is undone.

    Conditional requests (``gateway.api.conditional``): a detail GET answers with the row's ``ETag`` and a
    304 when ``If-None-Match`` names it. A write on one row (PUT, PATCH, DELETE, a detail POST action) that
    sends ``If-Match`` locks the row as ``get_object()`` reads it and is a 412 unless the header names the
    row's current ETag; the write's answer carries the row's new ETag (``object_response``). Every such
    write runs ``get_object()`` and its write in one transaction (the ``row_action`` decorator, or
    ``transaction.atomic`` in the action), or the lock would not be held.

    A POST with an ``Idempotency-Key`` runs in one transaction from authentication to its answer, which is
    stored with the key and replayed to a retry (``gateway.api.idempotency``). ``idempotency_secret_fields``
    names fields of an answer never stored (a new API key's secret).
    """

    owner_scoped = True
    live_parent: str | None = None
    serializer_classes: dict = {}
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    idempotency_secret_fields: tuple[str, ...] = ()
    idempotency_claim = None

    @property
    def model(self):
        return self.queryset.model

    def get_queryset(self):
        queryset = self.get_base_queryset(deleted=self.reaches_deleted_rows())
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return self.optimize_queryset(queryset.none())
        queryset = self.reachable(queryset, user)
        if self.locks_row():
            # Only this table's row: the scoping joins (the owner, a live parent) are read, not locked.
            queryset = queryset.select_for_update(of=("self",))
        return self.optimize_queryset(queryset)

    def get_base_queryset(self, *, deleted: bool = False):
        """The default manager's rows (live ones for soft models); every row when ``deleted``."""
        return self.model._base_manager.all() if deleted else self.model._default_manager.all()

    def reaches_deleted_rows(self) -> bool:
        """Whether this request reads soft-deleted rows too (``SoftDeleteViewSetMixin`` says when)."""
        return False

    def reachable(self, queryset, user):
        """``queryset`` limited to the rows ``user`` may reach: the one scoping rule, which reads nothing else of
        the request (``get_object`` compiles it once per role: ``object_rows``)."""
        if self.is_scoped(user):
            queryset = self.scope_queryset(queryset, user)
            if self.live_parent:
                queryset = queryset.filter(**{f"{self.live_parent}__deleted_at__isnull": True})
        return queryset

    def is_scoped(self, user) -> bool:
        """Whether ``user`` reaches only some of the rows (``reachable`` filters them for ``user``)."""
        return self.owner_scoped and not is_admin(user)

    def locks_row(self) -> bool:
        """Whether the row is read with ``SELECT ... FOR UPDATE`` (an update, or a conditional write)."""
        return self.action in LOCKING_ACTIONS or self.is_conditional_write()

    def scope_queryset(self, queryset, user):
        """The rows a non-ADMIN ``user`` may reach (the model's own rule: ``visible_to``)."""
        return queryset.visible_to(user)

    def optimize_queryset(self, queryset):
        return queryset

    def get_serializer_class(self):
        return self.serializer_classes.get(self.action, self.serializer_class)

    def list(self, request, *args, **kwargs):
        # DRF's list, each page read as rows when the serializer has a ``row_plan``: one query of the serialized
        # columns (``values()``), no model instances, the same JSON (``gateway.api.representation``). (A comment,
        # not a docstring: the schema would take a docstring for every list's description.)
        plan = row_plan(self.get_serializer_class())
        if plan is None:
            return super().list(request, *args, **kwargs)
        if self.reads_list_compiled():
            page = self.paginate_queryset(ListRows(self))
            return self.get_paginated_response(represent_rows(plan, page))
        # A cursor page reads its position off its last row: the cursor's fields are read too.
        rows = row_values(plan, self.filter_queryset(self.get_queryset()), *getattr(self, "cursor_fields", ()))
        page = self.paginate_queryset(rows)
        if page is None:
            return Response(represent_rows(plan, rows))
        return self.get_paginated_response(represent_rows(plan, page))

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and idempotency.HEADER in request.headers:
            # The key's row, the write and the stored answer commit together (see ``initial``).
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            self.idempotency_claim = idempotency.claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # A failed request's transaction is rolled back with the key's row: nothing to store.
        if self.idempotency_claim is not None and not transaction.get_rollback():
            idempotency.store(self.idempotency_claim, response, secret_fields=self.idempotency_secret_fields)
        return response

    def is_conditional_write(self) -> bool:
        """A write on one row that sends ``If-Match``: its row is locked as it is read, and compared."""
        request = self.request
        # DRF's OPTIONS answer asks for the object on a copy of the request as a PUT: the method sent counts.
        return (
            request is not None
            and request.method not in SAFE_METHODS
            and request._request.method not in SAFE_METHODS
            and bool(getattr(self, "detail", False))
            and conditional.has_preconditions(request)
        )

    def get_object(self):
        row = self.compiled_object() if self.reads_object_compiled() else super().get_object()
        self.check_preconditions(row)
        return row

    def reads_object_compiled(self) -> bool:
        """Whether ``get_object`` may read its row by ``OBJECT_ROWS`` (SQL compiled once per viewset, action and
        role) rather than DRF's ``filter_queryset(get_queryset())``: an authenticated caller, a row read without a
        lock, no query string (so the filter backends leave the rows as they are: ``FilterBackend``), and a
        viewset that reads its rows as this class does."""
        return (
            not self.request.query_params
            and self.reads_rows_as_scoped()
            and self.lookup_field == "pk"
            and not self.locks_row()
        )

    def reads_list_compiled(self) -> bool:
        """Whether ``list`` reads and counts its rows by ``ListRows`` (SQL compiled once per viewset, serializer and
        role) rather than through ``filter_queryset(get_queryset())``: a scoped caller (whose rows are a subset of
        the table, counted as such), page numbers, a query string naming at most the page and its size, each once
        and without NUL (so the filter backends would leave the rows as they are and refuse nothing), and a
        viewset that reads its rows as this class does."""
        request, paginator = self.request, self.paginator
        return (
            isinstance(paginator, PageNumberPagination)
            and request.query_params.keys() <= {paginator.page_query_param, paginator.page_size_query_param}
            and all(len(given) == 1 and "\x00" not in given[0] for _, given in request.query_params.lists())
            and self.reads_rows_as_scoped()
            and self.is_scoped(request.user)
            and not self.reaches_deleted_rows()
        )

    def reads_rows_as_scoped(self) -> bool:
        """What both compiled reads need (``reads_object_compiled``, ``reads_list_compiled``): an authenticated
        caller, not the schema's made-up view, and a viewset reading its rows as this class does (its scoping is
        ``get_base_queryset``, ``reachable`` and ``optimize_queryset``, none of which reads the request)."""
        cls = type(self)
        return (
            self.request.user.is_authenticated
            and not getattr(self, "swagger_fake_view", False)
            and cls.get_queryset is ScopedModelViewSet.get_queryset
            and cls.filter_queryset is ScopedModelViewSet.filter_queryset
        )

    def compiled_object(self):
        """What DRF's ``get_object`` answers (the row, a 404, the object permissions' 403), its query compiled once
        per viewset, action, role and whether deleted rows count (``OBJECT_ROWS``)."""
        lookup = self.lookup_url_kwarg or self.lookup_field
        try:
            pk = self.model._meta.pk.to_python(self.kwargs[lookup])
        except DjangoValidationError:
            raise Http404 from None  # what DRF's get_object_or_404 makes of a malformed key
        rows = OBJECT_ROWS(
            viewset=type(self),
            action=self.action,
            deleted=self.reaches_deleted_rows(),
            user=self.request.user,
            pk=pk,
        )
        if not rows:
            raise Http404
        self.check_object_permissions(self.request, rows[0])
        return rows[0]

    def check_preconditions(self, row) -> None:
        """A 412 when a conditional write's ``If-Match`` does not name ``row``'s current ETag (row locked by then)."""
        if self.is_conditional_write():
            conditional.check_if_match(self.request, self.object_etag(row))

    def detail_representation(self, row):
        """What ``GET`` of ``row``'s own URL answers now: its detail as ``retrieve`` reads and shows it."""
        view = type(self)(
            request=self.request,
            args=self.args,
            kwargs=self.kwargs,
            format_kwarg=self.format_kwarg,
            action="retrieve",
            detail=True,
        )
        # Deleted rows too: a restore compares with the ETag an ADMIN read with ``?is_deleted=true``.
        (current,) = DETAIL_ROWS(viewset=type(self), pk=row.pk)
        return view.get_serializer(current).data

    def object_etag(self, row) -> str:
        """``row``'s current ETag (see ``gateway.api.conditional``)."""
        return conditional.etag_of(self.detail_representation(row))

    def object_response(self, row, serializer_class=None, **kwargs) -> Response:
        """The answer of a write on ``row``: the row as ``serializer_class`` shows it, with its new ETag.

        Call it inside the write's transaction, so the ETag is that of the write's own result.
        """
        serializer_class = serializer_class or self.get_serializer_class()
        data = serializer_class(row, context=self.get_serializer_context()).data
        return Response(data, headers={"ETag": self.object_etag(row)}, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return conditional.conditional_get(request, super().retrieve(request, *args, **kwargs))

    @transaction.atomic
    def perform_create(self, serializer):
        serializer.save()

    def update(self, request, *args, **kwargs):
        # One transaction from reading the row (locked, see get_queryset) to answering with it.
        with transaction.atomic():
            response = super().update(request, *args, **kwargs)
            response["ETag"] = self.object_etag(self.written)
            return response

    def perform_update(self, serializer):
        serializer.save()
        self.written = serializer.instance

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)

    @transaction.atomic
    def perform_destroy(self, instance):
        instance.delete()

    def apply_service(self, service, input_serializer_class):
        """A detail ``@action``'s answer: ``service`` applied to the reachable row with the validated body.

        The service takes the row under the model's name (``asset=``, ``clip=``) and the body's fields as
        keywords, and returns the row; the answer is the row as ``serializer_class`` shows it, with its ETag.
        Call it from a ``row_action`` (one transaction).
        """
        row = self.get_object()
        body = input_serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        row = service(**{self.model._meta.model_name: row}, **body.validated_data)
        return self.object_response(row, self.serializer_class)


def object_rows(*, viewset, action: str, deleted: bool, user, pk):
    """The rows ``viewset``'s ``get_object`` reads for ``action``: the one with primary key ``pk`` among those
    ``user`` may reach (every row when ``deleted``, else the live ones), as ``optimize_queryset`` reads it."""
    view = viewset(action=action, detail=True)
    queryset = view.reachable(view.get_base_queryset(deleted=deleted), user).filter(pk=pk)
    return view.optimize_queryset(queryset)[:MAX_GET_RESULTS]


def detail_rows(*, viewset, pk):
    """The row whose primary key is ``pk`` (deleted or not) as ``viewset``'s ``retrieve`` reads it."""
    view = viewset(action="retrieve", detail=True)
    return view.optimize_queryset(view.get_base_queryset(deleted=True).filter(pk=pk))[:MAX_GET_RESULTS]


def list_rows(*, viewset, serializer_class, user):
    """The rows ``viewset``'s ``list`` pages through for ``user`` when the query string names no filter: the live
    ones ``user`` may reach, in the list's order made unique, as ``serializer_class``'s ``row_plan`` reads them."""
    view = viewset(action="list", detail=False)
    rows = view.optimize_queryset(view.reachable(view.get_base_queryset(), user))
    return row_values(row_plan(serializer_class), with_unique_ordering(rows))


def list_count(*, viewset, serializer_class, user, limit):
    """How many of ``list_rows`` there are (at most ``limit`` of them), as the paginator counts a queryset."""
    return CountOf(counted(list_rows(viewset=viewset, serializer_class=serializer_class, user=user), limit))


# Compiled once per viewset, action and role (a detail, a row action's row, the row a write answers with); what
# prefetches is run by Django each time (gateway/db/compiled.py).
OBJECT_ROWS = CompiledQuery(object_rows, shape=("viewset", "action"), instances={"user": ("role",)})
DETAIL_ROWS = CompiledQuery(detail_rows, shape=("viewset",))
# Compiled once per viewset, serializer and role; a page's bounds are parameters (``window``).
LIST_ROWS = CompiledQuery(list_rows, shape=("viewset", "serializer_class"), instances={"user": ("role",)})
LIST_COUNT = CompiledQuery(list_count, shape=("viewset", "serializer_class", "limit"), instances={"user": ("role",)})


class ListRows(CountedRows):
    """A list's rows as the paginator reads them when ``list`` reads them compiled (``reads_list_compiled``): a
    page by ``LIST_ROWS`` (its bounds as parameters), the count by ``LIST_COUNT``. The queryset itself is built
    only for the planner's estimate of a list of more than ``COUNT_CAP`` rows."""

    # A scoped caller's rows: always a subset of the table (``reachable`` filters them).
    filtered = True

    def __init__(self, view):
        self.values = {
            "viewset": type(view),
            "serializer_class": view.get_serializer_class(),
            "user": view.request.user,
        }

    @cached_property
    def queryset(self):
        return list_rows(**self.values)

    def count(self, limit: int | None = None) -> int:
        return LIST_COUNT(limit=limit, **self.values)

    def __getitem__(self, bounds: slice) -> list[dict]:
        return LIST_ROWS.window(bounds.start or 0, bounds.stop, **self.values)


class SoftDeleteViewSetMixin:
    """Soft delete for soft models: DELETE hides, ``?hard=true`` (ADMIN) removes, ``restore`` brings back.

    An ADMIN's list and detail include deleted rows when ``is_deleted`` is in the query string (the
    FilterSet's ``is_deleted`` filter then picks live or deleted ones); ``restore`` and hard deletes
    reach deleted rows too. Non-ADMIN users never see deleted rows: ``is_deleted=true`` returns none.
    ``soft_parent`` names the soft parent (e.g. ``"asset"``) that must be live for a row to be restored.
    """

    soft_parent: str | None = None

    def reaches_deleted_rows(self) -> bool:
        request = self.request
        return is_admin(request.user) and (
            self.action == "restore"
            or (self.action == "destroy" and query_flag(request, "hard"))
            or (self.action in ("list", "retrieve") and "is_deleted" in request.query_params)
        )

    @extend_schema(parameters=[HARD_DELETE_PARAMETER])
    def destroy(self, request, *args, **kwargs):
        hard = query_flag(request, "hard")
        if hard and not is_admin(request.user):
            raise exceptions.PermissionDenied("Only an ADMIN may hard-delete.")
        with transaction.atomic():
            instance = self.get_object()
            if hard:
                instance.delete()
            else:
                instance.soft_delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        summary="Restore a soft-deleted row (ADMIN)",
        description="Brings back the row and what was deleted with it. Restoring a live row changes nothing.",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsAdmin])
    @transaction.atomic
    def restore(self, request, *args, **kwargs):
        instance = self.get_object()
        if self.soft_parent:
            parent = getattr(instance, self.soft_parent)
            if parent.deleted_at is not None:
                raise exceptions.ValidationError(
                    {self.soft_parent: [f"The {self.soft_parent} is deleted; restore it first."]}
                )
        instance.restore()
        return self.object_response(self.get_queryset().get(pk=instance.pk))


class SoftDeleteModelViewSet(SoftDeleteViewSetMixin, ScopedModelViewSet):
    """``ScopedModelViewSet`` for a ``SoftDeleteModel`` (one with ``deleted_at`` and ``all_objects``)."""
