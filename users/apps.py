from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users"

    def ready(self):
        # A saved or deleted user or key empties the cache of verified API keys (users/signals.py).
        from users import signals  # noqa: F401
