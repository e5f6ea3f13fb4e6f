"""``manage.py seed [--scale N]``: the development data set, and optionally N× generated data.

Each app's part lives in its ``seeding`` module (see ``gateway.seeding``); this command puts them together.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from gateway.seeding.development import SeedConflict, seed_development_data
from gateway.seeding.scale import expected_counts, seed_scale


class Command(BaseCommand):
    help = (
        "Load the development data set (users, API keys, assets, clips, campaigns, knowledge documents) and, "
        "with --scale N, generate N times a realistic data set. Inserts only the rows that are missing: a row that "
        "exists is never changed (--reset starts from an empty database). Refuses to run when DEBUG is off unless "
        "--force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=int,
            default=0,
            metavar="N",
            help="Also generate N x (10 users, 100 assets, 1,000 clips, 1,000 conversions, ...) with COPY.",
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed of --scale, for reproducible rows (default: random)."
        )
        parser.add_argument(
            "--chunk-users",
            type=int,
            default=100,
            help="Users (with everything they own) written per transaction by --scale (default 100).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even though DEBUG is off (the database may be production)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every row of the database first (asks to confirm), then load the development data set.",
        )
        parser.add_argument("--yes", action="store_true", help="With --reset: do not ask to confirm.")

    def handle(self, *args, scale, seed, chunk_users, force, reset, yes, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to seed: DEBUG is off, so this may be a production database. "
                "Run with DEBUG=true, or pass --force if you really mean it."
            )
        if scale < 0 or chunk_users < 1:
            raise CommandError("--scale must be 0 or more and --chunk-users at least 1.")
        if reset:
            self.reset(confirmed=yes)
        try:
            lines = seed_development_data()
        except SeedConflict as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS("Loaded the development data set."))
        for line in lines:
            self.stdout.write(line)
        if scale:
            self.generate(scale, seed=seed, chunk_users=chunk_users, verbosity=options["verbosity"])

    def reset(self, *, confirmed: bool) -> None:
        name = connection.settings_dict["NAME"]
        if not confirmed:
            answer = input(f"This deletes every row of the database {name!r}. Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Reset cancelled: nothing was deleted.")
        call_command("flush", interactive=False, verbosity=0)
        self.stdout.write(f"Deleted every row of the database {name!r}.")

    def generate(self, scale, *, seed, chunk_users, verbosity):
        total = sum(expected_counts(scale).values())
        # tqdm leaves itself out when stderr is not a terminal (CI logs, tests).
        with tqdm(total=total, unit="rows", unit_scale=True, desc=f"seed --scale {scale}", disable=None) as bar:
            result = seed_scale(scale, seed=seed, chunk_users=chunk_users, progress=bar.update)
        if verbosity >= 2:
            for model, count in result.counts.items():
                self.stdout.write(f"  {model._meta.db_table:<22} {count:>12,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result.rows:,} rows in {result.seconds:.2f} s: {result.rows_per_second:,.0f} rows/s "
                f"(building rows {result.generate_seconds:.2f} s, COPY {result.copy_seconds:.2f} s "
                f"= {result.copy_rows_per_second:,.0f} rows/s, ANALYZE {result.analyze_seconds:.2f} s)."
            )
        )
