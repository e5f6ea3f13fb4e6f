"""``GET /api/v1/jobs/{id}/``: the state and result of a job, for whoever queued it (and ADMIN)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.routers import SimpleRouter

from gateway.api import strict
from gateway.api.conditional import conditional_get
from gateway.models import JobRecord

JOB_STATUSES = ["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]


class JobSerializer(serializers.ModelSerializer):
    """A job as its caller sees it: Procrastinate's state of it, and what it came to."""

    id = strict.IntegerField(source="job_id", read_only=True, help_text="The job's id (Procrastinate's).")
    task = strict.CharField(source="job.task_name", read_only=True, help_text="The task the job runs.")
    status = serializers.ChoiceField(
        source="job.status",
        choices=JOB_STATUSES,
        read_only=True,
        help_text="todo (waiting for a worker, or for its retry time), doing, succeeded, failed (after its last "
        "attempt), cancelled or aborted.",
    )
    attempts = strict.IntegerField(
        source="job.attempts", read_only=True, help_text="How many times a worker has started it."
    )
    scheduled_at = serializers.DateTimeField(
        source="job.scheduled_at", read_only=True, allow_null=True, help_text="When a retry is due (null: at once)."
    )
    result = serializers.JSONField(read_only=True, allow_null=True, help_text="What the task returned, once succeeded.")

    class Meta:
        model = JobRecord
        fields = [
            "id",
            "task",
            "status",
            "attempts",
            "scheduled_at",
            "request_id",
            "user",
            "result",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "request_id": {"help_text": "The X-Request-ID of the request that queued it; its log lines carry it."},
            "user": {"help_text": "Who queued it (null for periodic jobs)."},
            "error": {
                "help_text": "The last attempt's error, while it is retried or once it failed; null after success."
            },
        }


@extend_schema(summary="A job's state and result")
class JobViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs queued through the API (``202 Accepted`` answers name them): their state and result.

    A caller sees the jobs they queued; an ADMIN sees every job, periodic ones too. Someone else's job
    is a 404.
    """

    queryset = JobRecord.objects.all()
    serializer_class = JobSerializer
    lookup_url_kwarg = "id"
    # A bigint, so a longer number is a 404 rather than an out-of-range query.
    lookup_value_regex = "[0-9]{1,18}"

    def retrieve(self, request, *args, **kwargs):
        # Polling with If-None-Match: a 304 until the job's state changes.
        return conditional_get(request, super().retrieve(request, *args, **kwargs))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JobRecord.objects.none()
        return JobRecord.objects.visible_to(self.request.user).select_related("job")


router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")
