"""Print a Tink AEAD keyset (JSON) for SECRETS_KEYSET, the key-encryption key of a deployment
without Cloud KMS. With --rotate, the keyset in SECRETS_KEYSET with a new primary key added
(its keys stay, so what they wrapped still opens): set it, run `manage.py secrets_rotate`,
and the old keys can then be removed from it."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.secrets_at_rest import keyset_new


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rotate", action="store_true", help="add a key to SECRETS_KEYSET")

    def handle(self, *args: Any, rotate: bool = False, **options: Any) -> None:
        if rotate and not settings.SECRETS_KEYSET:
            raise CommandError("SECRETS_KEYSET is empty: there is no keyset to add a key to.")
        self.stdout.write(keyset_new(settings.SECRETS_KEYSET if rotate else ""))
