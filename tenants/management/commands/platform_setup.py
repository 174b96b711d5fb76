from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import platform_ensure


class Command(BaseCommand):
    help = "Migrate every schema, create the public site and the template schema."

    def handle(self, *args: Any, **options: Any) -> None:
        # Progress (schemas behind, each one's outcome) goes to the job's log at verbosity 1.
        call_command(
            "migrate_schemas", interactive=False, verbosity=options["verbosity"], stdout=self.stdout
        )
        platform_ensure()
