"""The console home page's tag: ``{% dashboard %}`` renders what the apps registered (``gateway.admin.dashboard``)."""

from django import template

from gateway.admin.dashboard import dashboard as registry

register = template.Library()


@register.inclusion_tag("admin/gateway/dashboard.html", takes_context=True)
def dashboard(context):
    """KPI tiles and charts, panels and work queues for the request's staff member."""
    return registry.context(context["request"])
