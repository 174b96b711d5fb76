"""Sets up the authenticator app (TOTP) a platform operator needs to sign in to /admin/."""

from typing import Any
from urllib.parse import quote, urlencode

import qrcode  # type: ignore[import-untyped]
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from tenants.schemas import schema_public_activate


class Command(BaseCommand):
    help = (
        "Give a platform operator (public schema, staff) an authenticator app for the admin's "
        "two-factor sign-in: prints the secret, its otpauth:// link and a QR code to scan."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace an existing authenticator (a lost phone); the old codes stop working",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        schema_public_activate()
        user = User.objects.filter(email__iexact=options["email"], is_staff=True).first()
        if user is None:
            raise CommandError(f"No platform staff account has the address {options['email']}.")
        existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP)
        if existing.exists() and not options["replace"]:
            raise CommandError(
                f"{user.email} already has an authenticator app; --replace gives a new one."
            )
        existing.delete()
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        issuer = f"{settings.BASE_DOMAIN} admin"
        url = f"otpauth://totp/{quote(issuer)}:{quote(user.email)}?" + urlencode(
            {"secret": secret, "issuer": issuer}, quote_via=quote
        )
        self.stdout.write(f"Authenticator app set up for {user.email}.")
        self.stdout.write(f"Secret: {secret}")
        self.stdout.write(f"Link: {url}")
        code = qrcode.QRCode(border=1)
        code.add_data(url)
        code.print_ascii(out=self.stdout, invert=True)
