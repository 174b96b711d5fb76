"""Migration connectors 0007 on a real organization's schema: the documents a source that
mirrors permissions synced before they were mirrored (no readers: everyone in the workspace
read them) are restricted to nobody and marked pending, their connector's permission-only
sync made due and set to read every item; documents of sources without permissions or not
mirroring, and documents that carry readers already, are left as they were.

The organization is committed (migrate_schemas migrates its schema on connections of its
own): connectors is migrated back to 0006 in its schema, as an organization from before the
release is, then forward; the organization is deleted at the end."""

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from connectors.models import Connector, ConnectorItem
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from workspaces.models import Document, Workspace
from workspaces.readers import DocumentReaders, document_readers_set
from workspaces.services import workspace_create


@pytest.fixture
def organization(django_db_setup: None, django_db_blocker: Any) -> Iterator[Organization]:
    with django_db_blocker.unblock():
        organization, _ = organization_signup(
            name="Perms Migrate Co", slug="perms-migrate", owner_email="owner@migrate.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        schema_public_activate()
        try:
            yield organization
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _synced(workspace: Workspace, owner: User, kind: str, name: str, mirror: bool) -> Connector:
    """A source with one synced document without readers, as a sync before 0007 left it
    (rows only: the migration reads no file)."""
    connector = Connector.objects.create(
        workspace=workspace, kind=kind, name=name, mirror_permissions=mirror, created_by=owner,
        readers_cursor="42", readers_synced_at=timezone.now(), last_synced_at=timezone.now(),
    )  # fmt: skip
    document = Document.objects.create(
        workspace=workspace, title=name, original_name=f"{name}.txt", kind="text",
        file=f"synced/{name}.txt", sha256=hashlib.sha256(name.encode()).hexdigest(),
        status="ready", source_url=f"https://example.com/{name}",
    )  # fmt: skip
    ConnectorItem.objects.create(connector=connector, source_id=name, document=document)
    return connector


def _migrate(organization: Organization, target: str | None) -> None:
    call_command(
        "migrate_schemas", "connectors", *([target] if target else []),
        schema_name=organization.schema_name, interactive=False, verbosity=0,
    )  # fmt: skip
    schema_public_activate()


def _columns(organization: Organization, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s",
            [organization.schema_name, table],
        )
        return {name for (name,) in cursor.fetchall()}


def test_documents_synced_before_permissions_were_mirrored_are_restricted_by_the_migration(
    organization: Organization, django_db_blocker: Any
):
    with django_db_blocker.unblock():
        with tenant_context(organization):
            owner = User.objects.get(email="owner@migrate.example")
            workspace = workspace_create(actor=owner, name="Synced", is_open=True)
            mirrored = [
                _synced(workspace, owner, kind, kind, mirror=True)
                for kind in ("google_drive", "confluence", "microsoft")
            ]
            not_mirrored = _synced(workspace, owner, "google_drive", "drive-open", mirror=False)
            website = _synced(workspace, owner, "website", "website", mirror=True)
            notion = _synced(workspace, owner, "notion", "notion", mirror=True)
            with_readers = _synced(workspace, owner, "google_drive", "drive-read", mirror=True)
            document_readers_set(
                document=Document.objects.get(title="drive-read"),
                readers=DocumentReaders(restricted=True, emails=frozenset({"ann@x.example"})),
            )
            version = Workspace.objects.get(pk=workspace.pk).index_version
        schema_public_activate()

        _migrate(organization, "0006_fewer_indexes")
        assert "readers_pending" not in _columns(organization, "connectors_connectoritem")
        _migrate(organization, None)

        with tenant_context(organization):
            restricted = set(
                Document.objects.filter(readers_restricted=True).values_list("title", flat=True)
            )
            assert restricted == {"google_drive", "confluence", "microsoft", "drive-read"}
            for title in ("google_drive", "confluence", "microsoft"):
                document = Document.objects.get(title=title)
                assert (document.reader_emails, document.reader_groups) == ([], [])
            assert Document.objects.get(title="drive-read").reader_emails == ["ann@x.example"]
            pending = ConnectorItem.objects.filter(readers_pending=True)
            assert {item.connector_id for item in pending} == {c.pk for c in mirrored}
            for connector in mirrored:
                connector.refresh_from_db()
                assert (connector.readers_cursor, connector.readers_synced_at) == ("", None)
            for connector in (not_mirrored, website, notion, with_readers):
                connector.refresh_from_db()
                assert connector.readers_cursor == "42"
            assert Workspace.objects.get(pk=workspace.pk).index_version > version
        schema_public_activate()
