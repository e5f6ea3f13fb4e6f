"""The console's titles and home page, set on Django's default admin site when ``gateway.admin`` is imported."""

from django.contrib import admin

admin.site.site_header = "GeminiVideo staff console"
admin.site.site_title = "GeminiVideo staff console"
admin.site.index_title = "Dashboard"
# The home page: the dashboard the apps register into (gateway.admin.dashboard), then the list of models.
admin.site.index_template = "admin/gateway/index.html"
# There is no public site behind the console ("/" is not a page): no "View site" link.
admin.site.site_url = None
# The model list beside every page would take a quarter of a 1,366-pixel screen from the changelists; the index
# lists the models, and the header's search finds any row.
admin.site.enable_nav_sidebar = False
