"""``manage.py createapikey <email>``: issue an API key and show it once."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from users.models import User
from users.services import api_key_issue


class Command(BaseCommand):
    help = (
        "Create an API key for the user with EMAIL and print it. The key is shown only this once: "
        "only its hash is stored. The key alone goes to stdout (KEY=$(manage.py createapikey ...)), "
        "the explanation to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="Email of the key's owner (in any case or spelling).")
        parser.add_argument("--name", default="Command-line key", help="A label for the key (default %(default)r).")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            metavar="N",
            help="Expire the key after N days (default: never).",
        )

    def handle(self, *args, email, name, expires_in_days, **options):
        user = User.objects.with_email(email.strip()).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is inactive: a key of theirs would not authenticate.")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        api_key, secret = api_key_issue(user=user, name=name, expires_at=expires_at)
        expiry = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "never expires"
        self.stderr.write(
            f"Created API key {api_key.name!r} for {user.email} (prefix {api_key.prefix}, {expiry}). "
            "Store it now: it cannot be shown again.",
            style_func=self.style.SUCCESS,
        )
        self.stdout.write(secret)
