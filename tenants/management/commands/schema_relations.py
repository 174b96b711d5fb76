import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_exists

from tenants.relations import schema_relations


class Command(BaseCommand):
    help = (
        "Print, as JSON, the relations (tables, indexes, sequences, TOAST) of a schema per app "
        "and per kind, and their bytes on disk; by default the template new organizations "
        "are copied from, which is what an empty organization costs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schema",
            default=settings.ORGANIZATION_TEMPLATE_SCHEMA,
            help="the schema to count (default: the template schema)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        schema = options["schema"]
        if not schema_exists(schema):
            raise CommandError(f"There is no schema called {schema!r} in this database.")
        self.stdout.write(json.dumps(schema_relations(schema_name=schema), indent=2))
