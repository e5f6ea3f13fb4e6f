from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self):
        # The deployment checks register themselves on import (manage.py check --deploy).
        from gateway import checks  # noqa: F401
