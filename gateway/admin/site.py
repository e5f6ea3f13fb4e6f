"""The console's titles and home page, set on Django's default admin site when ``gateway.admin`` is imported."""

from django.contrib import admin

admin.site.site_header = "GeminiVideo staff console"
admin.site.site_title = "GeminiVideo staff console"
admin.site.index_title = "Dashboard"
# The home page: the dashboard the apps register into (gateway.admin.dashboard), then the list of models.
admin.site.index_template = "admin/gateway/index.html"
