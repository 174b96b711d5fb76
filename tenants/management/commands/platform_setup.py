from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tenants.services import organization_signup, platform_ensure

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-owner-password"  # noqa: S105  (printed by make dev; local demo only)


class Command(BaseCommand):
    help = (
        "Migrate every schema, create the public site and the template schema; "
        "with --demo, the demo organization too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="Also create the demo organization."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate_schemas", interactive=False, verbosity=0)
        platform_ensure()
        schema_public_activate()
        if options["demo"] and not Organization.objects.filter(slug=DEMO_SLUG).exists():
            organization_signup(
                name="Demo Company",
                slug=DEMO_SLUG,
                owner_email=DEMO_EMAIL,
                owner_password=DEMO_PASSWORD,
            )
            self.stdout.write(f"Created the demo organization ({DEMO_SLUG}).")
