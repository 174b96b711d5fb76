"""A throwaway organization for the evaluation commands: signed up through the real
service, unmetered, its documents uploaded and ingested through the real pipeline, dropped
at the end."""

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from billing.services import organization_unmetered
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from workspaces.embedding.cache import CachedEmbeddings
from workspaces.embedding.model import embeddings_default, embeddings_model_id
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Workspace
from workspaces.services import document_upload


@contextlib.contextmanager
def evaluation_organization(*, name: str, keep: bool = False) -> Iterator[tuple[Any, Any]]:
    """(organization, owner), the organization's schema in force."""
    organization, owner = organization_signup(
        name=f"Evaluation {name}",
        slug=f"eval-{secrets.token_hex(4)}",
        owner_email="eval@eval.example",
        owner_password=secrets.token_urlsafe(16),
    )
    organization_unmetered(organization=organization)
    try:
        with tenant_context(organization):
            yield organization, owner
    finally:
        schema_public_activate()
        if not keep:
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def cached_embeddings() -> CachedEmbeddings:
    return CachedEmbeddings(
        embeddings_default(),
        settings.BASE_DIR / ".run" / "embedding-cache.sqlite3",
        embeddings_model_id(),
    )


def folder_upload(folder: Path, workspace: Workspace, owner: Any) -> dict[int, str]:
    """Every file of the folder, uploaded and ingested as a person's upload would be:
    document id -> file name."""
    names: dict[int, str] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        upload = ContentFile(path.read_bytes(), name=path.name)
        document = document_upload(
            actor=owner, workspace=workspace, upload=upload, queue_ingestion=False
        )
        names[document.pk] = path.name
    documents_ingest(document_ids=list(names), embeddings=cached_embeddings())
    return names
