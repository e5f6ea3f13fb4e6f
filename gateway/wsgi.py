import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

from gateway.chunked import ChunkedBodyMiddleware  # noqa: E402  (after the settings module is named)

application = ChunkedBodyMiddleware(get_wsgi_application())
