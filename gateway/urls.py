from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from gateway import health
from gateway.admin.global_search import global_search_view
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
    path("admin/search/", admin.site.admin_view(global_search_view), name="admin-search"),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the API's browsable pages, error pages).
    path("favicon.ico", RedirectView.as_view(url=static("gateway/favicon.svg"), permanent=True), name="favicon"),
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
