from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from lifecycle.archive_import import ArchiveRefused, archive_import
from tenants.models import Organization


class Command(BaseCommand):
    help = (
        "Import an export archive (Members -> Data -> Export all data) into a fresh "
        "organization: members, groups, workspaces, grants, documents with their files and "
        "passages, conversations and feedback."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="the .zip file an export wrote")
        parser.add_argument("--tenant", required=True, help="the organization's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["tenant"]).first()
        if organization is None or organization.is_template:
            raise CommandError(f"No organization has the address {options['tenant']!r}.")
        with tenant_context(organization):
            try:
                counts = archive_import(path=options["archive"])
            except ArchiveRefused as refusal:
                raise CommandError(str(refusal)) from refusal
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(f"Imported into {organization.slug}: {summary}.")
