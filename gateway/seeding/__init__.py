"""The toolkit of ``manage.py seed`` and the registry the apps' ``seeding`` modules fill.

Each domain app owns its seed data in ``<app>/seeding.py``: a subclass of ``AppSeeding``, registered
with ``@register``. ``registered()`` imports every installed app's ``seeding`` module (as the admin
does with ``admin.py``) and returns the apps' parts in ``INSTALLED_APPS`` order, so an app comes after
the apps it builds on (users, then media and campaigns, then knowledge).
"""

from contextlib import nullcontext

from django.apps import apps
from django.utils.module_loading import autodiscover_modules

_registry: dict[str, "AppSeeding"] = {}


class AppSeeding:
    """One app's part of ``manage.py seed``.

    Development data: the project's fixture holds every app's rows; ``before_fixture`` may refuse to
    load it (raise ``SeedConflict``), ``after_fixture`` completes what a fixture cannot hold (hashed
    keys, passwords) and returns lines for the command to print.

    Scale data (``seed --scale``), built as tuples from the run's ``ScaleGenerator``:
    ``fields`` lists, per model, the columns written in tuple order (parents first; generated columns
    are left to the database); ``per_unit`` the rows of each model one user unit brings. ``add_unit``
    appends one user unit's rows to ``batch`` and may leave values for later apps in ``unit`` (e.g. the
    user's id). A ``standalone`` part's rows belong to no user: ``build(generator, count)`` makes them
    after every unit, in chunks of ``chunk`` rows written in one transaction of their own, inside
    ``writing(count)``.
    """

    fields: dict = {}
    per_unit: dict = {}
    standalone = False
    chunk = 1_000

    def before_fixture(self) -> None:
        pass

    def after_fixture(self) -> list[str]:
        return []

    def add_unit(self, generator, batch: dict, unit: dict) -> None:
        pass

    def build(self, generator, count: int) -> dict:
        return {}

    def writing(self, count: int):
        """A context manager entered around the writes of a standalone part (inside its transaction)."""
        return nullcontext()


def register(seeding_class: type[AppSeeding]) -> type[AppSeeding]:
    """Class decorator: make ``seeding_class`` its app's part of ``manage.py seed``."""
    app_config = apps.get_containing_app_config(seeding_class.__module__)
    if app_config is None:
        raise ValueError(f"{seeding_class.__module__} is not in an installed app.")
    _registry[app_config.label] = seeding_class()
    return seeding_class


def registered() -> list[AppSeeding]:
    """Every installed app's seeding part, in ``INSTALLED_APPS`` order."""
    autodiscover_modules("seeding")
    return [_registry[config.label] for config in apps.get_app_configs() if config.label in _registry]
