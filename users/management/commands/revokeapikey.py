"""``manage.py revokeapikey <prefix>``: revoke an API key for good."""

from django.core.management.base import BaseCommand, CommandError

from users.models import ApiKey
from users.services import api_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke the API key with PREFIX (its first 12 characters, as listed in the admin; a whole key works too). "
        "A revoked key never authenticates again."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix", help=f"The key's first {ApiKey.PREFIX_LENGTH} characters, or the whole key.")

    def handle(self, *args, prefix, **options):
        prefix = prefix.strip()
        if len(prefix) < ApiKey.PREFIX_LENGTH:
            raise CommandError(
                f"{prefix!r} is too short: give the key's first {ApiKey.PREFIX_LENGTH} characters or the whole key."
            )
        api_key = ApiKey.objects.select_related("user").filter(prefix=ApiKey.prefix_of(prefix)).first()
        if api_key is None:
            raise CommandError(f"No API key with prefix {ApiKey.prefix_of(prefix)!r}.")
        if api_key.revoked_at is not None:
            revoked = f"{api_key.revoked_at:%Y-%m-%d %H:%M} UTC"
            self.stdout.write(f"API key {api_key.prefix} of {api_key.user.email} was already revoked at {revoked}.")
            return
        api_key_revoke(api_key=api_key)
        self.stdout.write(
            self.style.SUCCESS(f"Revoked API key {api_key.prefix} ({api_key.name!r}) of {api_key.user.email}.")
        )
