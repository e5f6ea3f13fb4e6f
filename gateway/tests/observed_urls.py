"""The project's URLs and two failures for the observability tests: one unhandled, one handled by the project."""

import psycopg
from django.urls import path
from rest_framework.decorators import api_view

from gateway.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


@api_view(["GET"])
def unhandled_error(request):
    raise RuntimeError("an unhandled error, on purpose")


@api_view(["GET"])
def database_unavailable(request):
    # What a connection refused looks like; DatabaseErrorMiddleware answers it (503) and logs it as an error.
    raise psycopg.OperationalError("connection refused, on purpose")


urlpatterns = [
    path("api/v1/failures/unhandled/", unhandled_error),
    path("api/v1/failures/database/", database_unavailable),
    *urlpatterns,
]
