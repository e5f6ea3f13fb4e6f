"""Users (managed by ADMIN users; everyone has ``users/me/``) and API keys."""

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from gateway.api.conditional import conditional_get, has_preconditions
from gateway.api.history import HistoryViewSetMixin
from gateway.api.permissions import IsAdmin
from gateway.api.viewsets import HARD_DELETE_PARAMETER, ScopedModelViewSet, SoftDeleteModelViewSet, query_flag
from gateway.services import lock_row
from users.api.filters import ApiKeyFilterSet, UserFilterSet
from users.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    MeSerializer,
    UserSerializer,
)
from users.models import ApiKey, User
from users.services import api_key_revoke, user_admins_lock, user_hard_delete, user_soft_delete

ADMIN_WRITE_ACTIONS = {"create", "update", "partial_update", "destroy"}


@extend_schema_view(
    list=extend_schema(summary="List users (ADMIN: all; others: themselves)"),
    create=extend_schema(summary="Create a user (ADMIN)"),
    update=extend_schema(summary="Replace a user (ADMIN)"),
    partial_update=extend_schema(summary="Update a user (ADMIN)"),
    destroy=extend_schema(summary="Delete a user (ADMIN; soft unless ?hard=true)"),
)
class UserViewSet(HistoryViewSetMixin, SoftDeleteModelViewSet):
    """Users. ADMIN users see and manage all; everyone else sees only themselves and edits ``users/me/``.

    Writes go through the services of ``users.services``: console access follows the role, the last
    active ADMIN can be neither demoted, deactivated nor deleted, and nobody deletes themselves.
    """

    queryset = User.objects.all()
    serializer_class = UserSerializer
    serializer_classes = {"me": MeSerializer}
    filterset_class = UserFilterSet
    search_fields = ["email", "name"]

    def get_permissions(self):
        if self.action in ADMIN_WRITE_ACTIONS:
            return [IsAuthenticated(), IsAdmin()]
        return super().get_permissions()

    def scope_queryset(self, queryset, user):
        return queryset.filter(pk=user.pk)

    def get_object(self):
        # ``me/`` has no id in its URL: its row is the caller's (DRF's OPTIONS metadata asks for it too).
        if self.lookup_field not in self.kwargs:
            return self.request.user
        return super().get_object()

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            # The base class locks the user's row as it reads it; the active ADMINs' rows must be locked
            # before that, in the order every other write takes them (see users.services).
            user_admins_lock()
            return super().update(request, *args, **kwargs)

    @extend_schema(parameters=[HARD_DELETE_PARAMETER])
    def destroy(self, request, *args, **kwargs):
        hard = query_flag(request, "hard")
        with transaction.atomic():
            # An If-Match locks the user's row as it is read: the active ADMINs' rows go first (see update).
            user_admins_lock()
            user = self.get_object()
            if hard:
                user_hard_delete(user=user, actor=request.user)
            else:
                user_soft_delete(user=user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def detail_representation(self, row):
        # ``users/me/`` is an object of its own, shown by its own serializer.
        if self.action == "me":
            return MeSerializer(User.objects.get(pk=row.pk), context=self.get_serializer_context()).data
        return super().detail_representation(row)

    @extend_schema(summary="The caller's own profile", methods=["GET"])
    @extend_schema(summary="Update the caller's own profile (name, settings)", methods=["PUT", "PATCH"])
    @action(detail=False, methods=["get", "put", "patch"], url_path="me")
    def me(self, request):
        if request.method == "GET":
            data = MeSerializer(request.user, context=self.get_serializer_context()).data
            return conditional_get(request, Response(data))
        with transaction.atomic():
            user = lock_row(request.user) if self.is_conditional_write() else request.user
            self.check_preconditions(user)
            serializer = MeSerializer(
                user, data=request.data, partial=request.method == "PATCH", context=self.get_serializer_context()
            )
            serializer.is_valid(raise_exception=True)
            serializer.save()
            return self.object_response(serializer.instance, MeSerializer)

    def is_conditional_write(self) -> bool:
        # ``me/`` is one row although its route has no id.
        return super().is_conditional_write() or (
            self.action == "me" and self.request.method not in SAFE_METHODS and has_preconditions(self.request)
        )


@extend_schema_view(
    list=extend_schema(summary="List API keys (yours; ADMIN: everyone's)"),
    create=extend_schema(
        summary="Issue an API key", description="The response carries the secret `key` once; store it now."
    ),
    destroy=extend_schema(summary="Revoke an API key (the row stays, marked revoked)"),
)
class ApiKeyViewSet(HistoryViewSetMixin, ScopedModelViewSet):
    """API keys: never their secret, except once in the response that creates one."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    filterset_class = ApiKeyFilterSet
    search_fields = ["name"]
    # A replayed creation (Idempotency-Key) cannot show the secret: it is never stored, there either.
    idempotency_secret_fields = ("key",)

    def scope_queryset(self, queryset, user):
        return queryset.filter(user=user)

    @extend_schema(responses={status.HTTP_201_CREATED: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        data = ApiKeyCreatedSerializer(serializer.instance, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        api_key_revoke(api_key=instance)

    @extend_schema(request=None, summary="Revoke an API key", responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def revoke(self, request, pk=None):
        return self.object_response(api_key_revoke(api_key=self.get_object()))
