from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from accounts.models import Role, User
from tenants.models import Organization
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import DocumentStatus, Workspace
from workspaces.services import WorkspaceError, document_upload, workspace_create
from workspaces.tags import TagRefused, tags_normalise

# Documents embedded together: full model batches even when each file is small.
GROUP = 32
SUFFIXES = {
    ".pdf",
    ".docx",
    ".xlsx",
    ".csv",
    ".tsv",
    ".pptx",
    ".html",
    ".htm",
    ".md",
    ".markdown",
    ".txt",
}


class Command(BaseCommand):
    help = "Load files (or folders of them) into a workspace through the ingestion pipeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--tenant", required=True, help="organization slug")
        parser.add_argument(
            "--workspace", required=True, help="workspace slug (created if missing)"
        )
        parser.add_argument(
            "--open", action="store_true", help="a created workspace is open to all"
        )
        parser.add_argument(
            "--tag", action="append", default=[], dest="tags",
            help="a tag for every file loaded (repeat for more, or separate by commas)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tags = tags_normalise(",".join(options["tags"]))
        except TagRefused as refusal:
            raise CommandError(str(refusal)) from None
        organization = Organization.objects.filter(slug=options["tenant"]).first()
        if organization is None:
            raise CommandError(f"No organization with the address {options['tenant']!r}.")
        files = sorted(
            path
            for root in options["paths"]
            for path in ([root] if root.is_file() else root.rglob("*"))
            if path.is_file() and path.suffix.lower() in SUFFIXES
        )
        with tenant_context(organization):
            owner = User.objects.filter(role=Role.OWNER, is_active=True).order_by("pk").first()
            if owner is None:
                raise CommandError("The organization has no active owner to upload as.")
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                workspace = workspace_create(
                    actor=owner, name=options["workspace"].replace("-", " ").title(),
                    is_open=options["open"],
                )  # fmt: skip
            failed = skipped = 0
            bar = tqdm(total=len(files), desc=f"{organization.slug}/{workspace.slug}", unit="file")
            for start in range(0, len(files), GROUP):
                group = files[start : start + GROUP]
                document_ids = []
                for path in group:
                    try:
                        with path.open("rb") as stream:
                            upload = File(stream, name=path.name)
                            document = document_upload(
                                actor=owner, workspace=workspace, upload=upload, tags=tags
                            )
                        document_ids.append(document.pk)
                    except WorkspaceError as refusal:
                        skipped += 1
                        tqdm.write(f"skipped {path}: {refusal}")
                for document in documents_ingest(document_ids=document_ids):
                    if document.status == DocumentStatus.FAILED:
                        failed += 1
                        tqdm.write(f"failed {document.original_name}: {document.error}")
                bar.update(len(group))
            bar.close()
        indexed = len(files) - failed - skipped
        self.stdout.write(f"{indexed} of {len(files)} files indexed in {workspace.slug}.")
