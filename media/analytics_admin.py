"""The admin's prediction-accuracy page, wired in by ``PredictionAdmin.get_urls``."""

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from media.analytics import prediction_accuracy
from media.charts import accuracy_by_model_type


def prediction_accuracy_view(model_admin, request):
    """Every model type's versions compared on each metric (chart and table), for staff who may view predictions."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    report = prediction_accuracy()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Prediction accuracy by model version",
        "sections": accuracy_by_model_type(report),
    }
    return TemplateResponse(request, "admin/analytics/prediction_accuracy.html", context)
