from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge"

    def ready(self):
        # The embedding settings' checks register themselves on import.
        from knowledge import checks  # noqa: F401
