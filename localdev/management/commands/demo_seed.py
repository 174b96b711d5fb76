"""`manage.py demo_seed`: the demo organization `make dev` prints, with the sample documents
of samples/ in an open "Handbook" workspace. Runs `platform_setup` first; creates the
organization once, later runs leave it as it is."""

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from accounts.models import User
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from workspaces.services import document_upload, workspace_create

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-owner-password"  # noqa: S105  (printed by make dev; local demo only)


class Command(BaseCommand):
    help = (
        "Migrate and set up the platform (platform_setup), then create the demo organization "
        "with the sample documents unless it exists."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("platform_setup")
        schema_public_activate()
        if Organization.objects.filter(slug=DEMO_SLUG).exists():
            return
        organization, owner = organization_signup(
            name="Northwind Robotics (demo)",
            slug=DEMO_SLUG,
            owner_email=DEMO_EMAIL,
            owner_password=DEMO_PASSWORD,
        )
        with tenant_context(organization):
            queued = self._demo_documents(owner)
        self.stdout.write(
            f"Created the demo organization ({DEMO_SLUG}); {queued} sample documents queued."
        )

    def _demo_documents(self, owner: User) -> int:
        """The handbook workspace, open to everyone, filled from samples/ by the worker."""
        workspace = workspace_create(
            actor=owner,
            name="Handbook",
            description="Company handbook, IT policies, product FAQ and manuals.",
            is_open=True,
        )
        paths = sorted(p for p in SAMPLES.iterdir() if p.is_file() and p.name != "README.md")
        for path in paths:
            with path.open("rb") as stream:
                document_upload(
                    actor=owner, workspace=workspace, upload=File(stream, name=path.name)
                )
        return len(paths)
