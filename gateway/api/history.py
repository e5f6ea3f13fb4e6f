"""``GET <resource>/{id}/history/``: the changes of a row, from its database-trigger history (gateway/history.py).

A viewset of a tracked model adds ``HistoryViewSetMixin``: the row is found as ``retrieve`` finds it (so a row out
of the caller's reach is a 404), and its events come newest first, paginated like every list, three queries a page
whatever its size (the row, the count, the page).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from gateway.api.pagination import PageNumberPagination
from gateway.history import history_events, history_of


class HistoryChangeSerializer(serializers.Serializer):
    """One field an event changed, with its value before and after (as the resource shows it: decimals as strings)."""

    field = serializers.CharField(
        read_only=True, help_text="The field, as the resource names it (``budget``, ``user``)."
    )
    old = serializers.JSONField(read_only=True, allow_null=True, help_text="The value before the change.")
    new = serializers.JSONField(read_only=True, allow_null=True, help_text="The value after the change.")


class HistoryActorSerializer(serializers.Serializer):
    """Who made a change: a user (and the API key used), a job, a command; all null for raw SQL outside the app."""

    user = serializers.UUIDField(
        read_only=True, allow_null=True, help_text="The id of the user who made or queued the change."
    )
    api_key_prefix = serializers.CharField(
        read_only=True, allow_null=True, help_text="The prefix of the API key of the request."
    )
    job = serializers.CharField(read_only=True, allow_null=True, help_text="The task of the job that made the change.")
    command = serializers.CharField(
        read_only=True, allow_null=True, help_text="The management command that made the change."
    )


class HistoryEventSerializer(serializers.Serializer):
    """One change of a row: when, what (``insert``, ``update``, ``delete``), which fields, by whom, in which request."""

    id = serializers.IntegerField(
        read_only=True, help_text="The event's number; later events of a row have larger ones."
    )
    created_at = serializers.DateTimeField(read_only=True, help_text="When the change's transaction began.")
    event = serializers.ChoiceField(read_only=True, choices=["insert", "update", "delete"])
    changes = HistoryChangeSerializer(
        read_only=True, many=True, help_text="The fields changed (empty for an insert or a delete)."
    )
    actor = HistoryActorSerializer(read_only=True, source="*")
    request_id = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The request id of the change (or of the request that queued its job).",
    )


class HistoryViewSetMixin:
    """Adds ``GET {id}/history/`` to a viewset of a ``@tracked`` model."""

    @extend_schema(
        summary="The history of changes of a row",
        description=(
            "Every change of the row, newest first, whatever made it (the API, the admin, a job, a command, "
            "SQL): the fields changed with their old and new values, who made the change and the request id."
        ),
        responses=HistoryEventSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=PageNumberPagination, filter_backends=[])
    def history(self, request, *args, **kwargs):
        row = self.get_object()
        page = self.paginate_queryset(history_of(row))
        data = HistoryEventSerializer(history_events(self.model, page), many=True).data
        return self.get_paginated_response(data)
