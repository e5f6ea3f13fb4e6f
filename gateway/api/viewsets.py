"""The base viewset every resource builds on: owner scoping, soft delete, restore, one transaction per write."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from gateway.api.permissions import IsAdmin, is_admin

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
# Actions whose row is read with SELECT ... FOR UPDATE, inside the transaction of the whole request.
LOCKING_ACTIONS = {"update", "partial_update"}

HARD_DELETE_PARAMETER = OpenApiParameter(
    "hard",
    OpenApiTypes.BOOL,
    description="ADMIN only: remove the row (and what cascades from it) instead of soft-deleting it.",
)


def query_flag(request, name: str) -> bool:
    """A boolean query parameter; anything but a yes/no spelling is a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
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
    ``operation_id`` names the operation where the action's URL is not the verb a client calls (``clips_score``).
    """

    def decorate(method):
        method = action(detail=True, methods=["post"], url_path=url_path)(method)
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

    An update (PUT, PATCH) locks its row for the whole request: the serializer validates against the
    row as it is now, a row deleted meanwhile is a 404, and the serializer's ``update`` (a service)
    writes only the fields it was given, so no concurrent write is undone.
    """

    owner_scoped = True
    live_parent: str | None = None
    serializer_classes: dict = {}
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    @property
    def model(self):
        return self.queryset.model

    def get_queryset(self):
        queryset = self.get_base_queryset()
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return self.optimize_queryset(queryset.none())
        if self.owner_scoped and not is_admin(user):
            queryset = self.scope_queryset(queryset, user)
            if self.live_parent:
                queryset = queryset.filter(**{f"{self.live_parent}__deleted_at__isnull": True})
        if self.action in LOCKING_ACTIONS:
            # Only this table's row: the scoping joins (the owner, a live parent) are read, not locked.
            queryset = queryset.select_for_update(of=("self",))
        return self.optimize_queryset(queryset)

    def get_base_queryset(self):
        """The default manager's rows (live ones for soft models)."""
        return self.model._default_manager.all()

    def scope_queryset(self, queryset, user):
        """The rows a non-ADMIN ``user`` may reach (the model's own rule: ``visible_to``)."""
        return queryset.visible_to(user)

    def optimize_queryset(self, queryset):
        return queryset

    def get_serializer_class(self):
        return self.serializer_classes.get(self.action, self.serializer_class)

    @transaction.atomic
    def perform_create(self, serializer):
        serializer.save()

    def update(self, request, *args, **kwargs):
        # One transaction from reading the row (locked, see get_queryset) to answering with it.
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    @transaction.atomic
    def perform_destroy(self, instance):
        instance.delete()

    def apply_service(self, service, input_serializer_class):
        """A detail ``@action``'s answer: ``service`` applied to the reachable row with the validated body.

        The service takes the row under the model's name (``asset=``, ``clip=``) and the body's fields as
        keywords, and returns the row; the answer is the row as ``serializer_class`` shows it.
        """
        row = self.get_object()
        body = input_serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        row = service(**{self.model._meta.model_name: row}, **body.validated_data)
        return Response(self.serializer_class(row, context=self.get_serializer_context()).data)


class SoftDeleteViewSetMixin:
    """Soft delete for soft models: DELETE hides, ``?hard=true`` (ADMIN) removes, ``restore`` brings back.

    An ADMIN's list and detail include deleted rows when ``is_deleted`` is in the query string (the
    FilterSet's ``is_deleted`` filter then picks live or deleted ones); ``restore`` and hard deletes
    reach deleted rows too. Non-ADMIN users never see deleted rows: ``is_deleted=true`` returns none.
    ``soft_parent`` names the soft parent (e.g. ``"asset"``) that must be live for a row to be restored.
    """

    soft_parent: str | None = None

    def get_base_queryset(self):
        request = self.request
        if is_admin(request.user) and (
            self.action == "restore"
            or (self.action == "destroy" and query_flag(request, "hard"))
            or (self.action in ("list", "retrieve") and "is_deleted" in request.query_params)
        ):
            return self.model.all_objects.all()
        return super().get_base_queryset()

    @extend_schema(parameters=[HARD_DELETE_PARAMETER])
    def destroy(self, request, *args, **kwargs):
        hard = query_flag(request, "hard")
        if hard and not is_admin(request.user):
            raise exceptions.PermissionDenied("Only an ADMIN may hard-delete.")
        instance = self.get_object()
        with transaction.atomic():
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
    def restore(self, request, *args, **kwargs):
        instance = self.get_object()
        if self.soft_parent:
            parent = getattr(instance, self.soft_parent)
            if parent.deleted_at is not None:
                raise exceptions.ValidationError(
                    {self.soft_parent: [f"The {self.soft_parent} is deleted; restore it first."]}
                )
        instance.restore()
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data)


class SoftDeleteModelViewSet(SoftDeleteViewSetMixin, ScopedModelViewSet):
    """``ScopedModelViewSet`` for a ``SoftDeleteModel`` (one with ``deleted_at`` and ``all_objects``)."""
