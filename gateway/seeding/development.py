"""The development data set: the project's fixture (SEED_DATA.md), completed by each app's seeding part."""

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from gateway.seeding import registered

FIXTURE = settings.BASE_DIR / "fixtures" / "development.json"


class SeedConflict(Exception):
    """The database holds a row that the fixture would have to overwrite under another id."""


@transaction.atomic
def seed_development_data() -> list[str]:
    """Load the development fixture and let each app complete it; the lines the apps want printed.

    Idempotent: ``loaddata`` writes every fixture row by primary key (update or insert), and the apps'
    ``after_fixture`` steps leave in place what an earlier run made.
    """
    parts = registered()
    for part in parts:
        part.before_fixture()
    call_command("loaddata", str(FIXTURE), verbosity=0)
    return [line for part in parts for line in part.after_fixture()]
