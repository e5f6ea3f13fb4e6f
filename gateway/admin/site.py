"""The console's titles, set on Django's default admin site when ``gateway.admin`` is imported."""

from django.contrib import admin

admin.site.site_header = "GeminiVideo staff console"
admin.site.site_title = "GeminiVideo staff console"
admin.site.index_title = "Data"
# There is no public site behind the console ("/" is not a page): no "View site" link.
admin.site.site_url = None
