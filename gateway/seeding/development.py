"""The development data set: the project's fixture (SEED_DATA.md), completed by each app's seeding part."""

from django.conf import settings
from django.core import serializers
from django.db import transaction

from gateway.seeding import registered

FIXTURE = settings.BASE_DIR / "fixtures" / "development.json"


class SeedConflict(Exception):
    """The database holds a row that the fixture would have to overwrite under another id."""


@transaction.atomic
def seed_development_data() -> list[str]:
    """Insert the fixture's rows that are missing and let each app complete them; the lines the apps want printed.

    A row the database already holds (the same primary key, soft-deleted or not) is left exactly as it
    is: running ``seed`` again (every ``make run`` does) never undoes what a developer changed. ``seed
    --reset`` empties the database first to get the data set back as it was.
    """
    parts = registered()
    for part in parts:
        part.before_fixture()
    objects = list(serializers.deserialize("json", FIXTURE.read_text()))
    stored = {}
    for model in {type(item.object) for item in objects}:
        pks = [item.object.pk for item in objects if type(item.object) is model]
        stored[model] = set(model._base_manager.filter(pk__in=pks).values_list("pk", flat=True))
    for item in objects:
        if item.object.pk not in stored[type(item.object)]:
            item.save()
    return [line for part in parts for line in part.after_fixture()]
