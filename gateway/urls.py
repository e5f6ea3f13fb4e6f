from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from gateway import health
from gateway.api import jobs
from gateway.metrics import metrics_view

api_v1 = [
    path("", include("users.api.urls")),
    path("", include("media.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("knowledge.api.urls")),
    path("", include(jobs.router.urls)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api-auth/", include("rest_framework.urls")),
]

handler400 = "gateway.api.exceptions.bad_request"
handler403 = "gateway.api.exceptions.permission_denied"
handler404 = "gateway.api.exceptions.not_found"
handler500 = "gateway.api.exceptions.server_error"
