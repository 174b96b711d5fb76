"""Issue 27's goal, end to end: a person removed from a source file's readers stops getting it
in answers after the next permission sync, and from then on sees it through no other read path.

A Google Drive source (google-api-python-client against localdev/drive_server.py), synced,
ingested and then permission-synced by a real Celery worker (this process, the solo pool, the
main and large lanes); the organization and its data are committed, as a worker on its own
connection needs. Ann may read the leave policy in Drive and is a manager of the workspace
(the retrieval test page is an editor's). Her access is compared before and after the file's
permission is removed at the Drive-format server and the worker runs the permission-only sync
(which downloads nothing): her answer, the retrieval test page, the passage viewer of her
earlier citation, the document's page and download, the documents list, her conversation and
the API (with her session) all show it before and deny it after (404 or not cited)."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from assistant.models import Citation
from connectors.models import Connector, SyncState
from connectors.services import READERS_SYNC_TASK, connector_sync_request, drive_connector_add
from localdev.drive_server import DriveLocal
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import ask
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD, make_member
from workspaces.lanes import large_lane, task_send
from workspaces.models import Document, DocumentStatus, Workspace, WorkspaceRole
from workspaces.selectors import document_list
from workspaces.services import grant_set, workspace_create

LEAVE = (
    b"# Leave policy\n\nEmployees get 25 days of paid leave every year. Unused days carry "
    b"over until the end of March of the next year.\n"
)
TRAVEL = b"Trains are booked in second class for trips under four hours."
QUESTION = "How many days of paid leave do employees get?"


@dataclass(frozen=True)
class Handbook:
    organization: Organization
    owner: User
    ann: User
    workspace: Workspace
    drive: DriveLocal
    leave_id: str
    folder_id: str
    overrides: dict[str, Any]
    connector: Connector


@pytest.fixture(scope="module")
def handbook(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[Handbook]:
    drive = DriveLocal().start()
    folder = drive.folder("Handbook")
    leave = drive.add("Leave policy.md", LEAVE, mime_type="text/markdown", parents=(folder.id,))
    drive.share(leave.id, "user", "ann@permsco.example")
    travel = drive.add("Travel.txt", TRAVEL, parents=(folder.id,))
    drive.share(travel.id, "domain", "permsco.example")
    overrides = {
        "GOOGLE_DRIVE_API_URL": drive.api_url(), "GOOGLE_DRIVE_TOKEN_URI": drive.token_url(),
        "GOOGLE_ADMIN_API_URL": drive.url(), "MEDIA_ROOT": Path(tmp_path_factory.mktemp("m")),
    }  # fmt: skip
    with django_db_blocker.unblock(), override_settings(**overrides):
        organization, owner = organization_signup(
            name="Perms Drive Co", slug="perms-drive", owner_email="owner@permsco.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Handbook", is_open=True)
            ann = make_member(email="ann@permsco.example")
            grant_set(actor=owner, workspace=workspace, grantee=ann, role=WorkspaceRole.MANAGER)
        schema_public_activate()
        try:
            with start_worker(
                app, pool="solo", perform_ping_check=False,
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE, large_lane()],
            ):  # fmt: skip
                connector = _synced_and_ingested(organization, owner, workspace, drive, folder.id)
                yield Handbook(
                    organization, owner, ann, workspace, drive, leave.id, folder.id, overrides,
                    connector,
                )  # fmt: skip
        finally:
            drive.stop()
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _wait(what: str, done: Any, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s")


def _synced_and_ingested(
    organization: Organization, owner: User, workspace: Workspace, drive: DriveLocal, folder: str
) -> Connector:
    """Add the source as the owner (its first sync queued on commit) and wait for the
    worker to sync it and ingest both files."""
    with tenant_context(organization):
        connector = drive_connector_add(
            actor=owner, workspace=workspace, key_file=json.dumps(drive.service_account()),
            folder_id=folder,
        )  # fmt: skip

        def ready() -> bool:
            connector.refresh_from_db()
            assert connector.state != SyncState.FAILED, connector.error
            documents = Document.objects.filter(workspace=workspace)
            assert not documents.filter(status=DocumentStatus.FAILED).exists()
            ready = documents.filter(status=DocumentStatus.READY).count()
            return connector.state == SyncState.IDLE and documents.count() == ready == 2

        _wait("synced and ingested", ready)
    schema_public_activate()
    return connector


def _reads(handbook: Handbook, document: Document, citation: Citation) -> dict[str, object]:
    """What Ann's session gets of the leave policy on each read path."""
    client = signed_in(handbook.organization, handbook.ann)
    slug, page = handbook.workspace.slug, f"/w/{handbook.workspace.slug}/documents/{document.pk}/"
    search = client.get(f"/w/{slug}/search/", {"q": "paid leave days employees"})
    api_search = client.get("/api/v1/search/", {"q": "paid leave days employees"})
    api_list = client.get(f"/api/v1/workspaces/{slug}/documents/")
    conversation = client.get(f"/ask/c/{citation.message.conversation_id}/").content.decode()
    reads: dict[str, object] = {
        "document page": client.get(page).status_code,
        "download": client.get(f"{page}download/").status_code,
        "passage viewer": client.get(f"/ask/sources/{citation.pk}/").status_code,
        "api document": client.get(f"/api/v1/documents/{document.pk}/").status_code,
        "documents list": page in client.get(f"/w/{slug}/").content.decode(),
        "retrieval test": "Leave policy" in search.content.decode(),
        "api search": "Leave policy" in {row["document_title"] for row in api_search.json()},
        "api list": "Leave policy" in {row["title"] for row in api_list.json()["results"]},
        "conversation": f"/ask/sources/{citation.pk}/" in conversation,
    }
    schema_public_activate()
    return reads


def test_a_reader_removed_at_drive_loses_the_file_everywhere_after_the_workers_permission_sync(
    handbook: Handbook, django_db_blocker: Any
):
    with django_db_blocker.unblock(), override_settings(**handbook.overrides):
        connector = handbook.connector
        before, _ = ask(handbook.organization, handbook.ann, QUESTION)
        with tenant_context(handbook.organization):
            leave = Document.objects.get(title="Leave policy")
            citation = Citation.objects.select_related("message").get(
                message=before, document=leave
            )
            assert leave.readers_restricted and "ann@permsco.example" in leave.reader_emails
        assert "25 days" in before.text
        assert set(_reads(handbook, leave, citation).values()) == {200, True}
        downloads = handbook.drive.downloads()

        handbook.drive.unshare(handbook.leave_id, "ann@permsco.example")
        with tenant_context(handbook.organization):
            connector.refresh_from_db()
            last_read = connector.readers_synced_at
            # As beat queues it (connectors_readers_due_queue): the permission-only sync, on
            # the main lane, run by the worker.
            task_send(READERS_SYNC_TASK, connector.pk, queue=settings.CELERY_TASK_DEFAULT_QUEUE)

            def permissions_read() -> bool:
                connector.refresh_from_db()
                return connector.readers_synced_at not in (None, last_read)

            _wait("the permission sync", permissions_read, timeout=60)
            leave.refresh_from_db()
        schema_public_activate()

        assert "ann@permsco.example" not in leave.reader_emails
        assert handbook.drive.downloads() == downloads  # permissions only: no content read
        after, _ = ask(handbook.organization, handbook.ann, QUESTION)
        with tenant_context(handbook.organization):
            cited = set(Citation.objects.filter(message=after).values_list("document", flat=True))
        assert leave.pk not in cited and "25 days" not in after.text
        assert _reads(handbook, leave, citation) == {
            "document page": 404, "download": 404, "passage viewer": 404, "api document": 404,
            "documents list": False, "retrieval test": False, "api search": False,
            "api list": False, "conversation": False,
        }  # fmt: skip
        # The travel policy, shared with the domain, is hers still.
        travel, _ = ask(handbook.organization, handbook.ann, "How are trains booked?")
        assert "second class" in travel.text


def test_mirroring_turned_off_and_on_again_on_the_sources_page_is_filled_by_the_worker(
    handbook: Handbook, django_db_blocker: Any
):
    """Off: Ann reads every file through the workspace's grant alone. On again: nobody reads
    them at once (permissions pending on the source's card), and the permission sync that
    turning it on queued, run by the worker, gives back what Drive shares with her."""
    with django_db_blocker.unblock(), override_settings(**handbook.overrides):
        connector = handbook.connector
        handbook.drive.unshare(handbook.leave_id, "ann@permsco.example")  # if not yet
        owner = signed_in(handbook.organization, handbook.owner)
        sources = f"/w/{handbook.workspace.slug}/sources/"
        settings_url = f"{sources}{connector.pk}/settings/"

        def titles() -> set[str]:
            with tenant_context(handbook.organization):
                listed = document_list(user=handbook.ann, workspace=handbook.workspace)
                return set(listed.values_list("title", flat=True))

        off = owner.post(settings_url, {"schedule": connector.schedule, "mirror_permissions": "0"})
        assert off.status_code == 302
        assert titles() == {"Leave policy", "Travel"}

        owner.post(settings_url, {"schedule": connector.schedule, "mirror_permissions": "1"})
        seen: list[set[str]] = []

        def filled() -> bool:
            seen.append(titles())
            with tenant_context(handbook.organization):
                connector.refresh_from_db()
            return connector.readers_synced_at is not None and seen[-1] == {"Travel"}

        _wait("the permission sync queued by turning mirroring on", filled, timeout=60)
        # Fail closed from the moment it was turned on: never the leave policy again.
        assert all(observed <= {"Travel"} for observed in seen)
        assert "Permissions pending" not in owner.get(sources).content.decode()
        schema_public_activate()


def test_mirroring_turned_off_while_the_worker_syncs_is_what_the_sync_applies(
    handbook: Handbook, django_db_blocker: Any
):
    """The setting changed while a content sync is between two files (its download held at
    the Drive-format server) is the one that sync applies to the files it stores after, and
    the sync's end does not write the setting it started with back."""
    with django_db_blocker.unblock(), override_settings(**handbook.overrides):
        connector = handbook.connector
        owner = signed_in(handbook.organization, handbook.owner)
        settings_url = f"/w/{handbook.workspace.slug}/sources/{connector.pk}/settings/"
        owner.post(settings_url, {"schedule": connector.schedule, "mirror_permissions": "1"})
        for file_id in handbook.drive.files:
            if file_id != handbook.folder_id:
                handbook.drive.edit(file_id, handbook.drive.files[file_id].content + b" Edited.")
        handbook.drive.hold_download(handbook.drive.downloads() + 1)
        with tenant_context(handbook.organization):
            connector.refresh_from_db()
            last_synced = connector.last_synced_at
            connector_sync_request(actor=handbook.owner, connector=connector)
        schema_public_activate()
        assert handbook.drive.holding.wait(timeout=60), "the sync's first download never came"

        off = owner.post(settings_url, {"schedule": connector.schedule, "mirror_permissions": "0"})
        handbook.drive.release_downloads()

        assert off.status_code == 302
        with tenant_context(handbook.organization):

            def synced() -> bool:
                connector.refresh_from_db()
                assert connector.state != SyncState.FAILED, connector.error
                return connector.state == SyncState.IDLE and connector.last_synced_at != last_synced

            _wait("the content sync", synced, timeout=120)
            assert connector.updated == 2
            assert connector.mirror_permissions is False
            assert not Document.objects.filter(
                workspace=handbook.workspace, readers_restricted=True
            ).exists()
        schema_public_activate()
