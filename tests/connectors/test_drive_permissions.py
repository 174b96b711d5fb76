"""Source permissions (issue 27): a Drive source's files carry their Drive permissions as
readers (people, Google groups with their members from the Admin SDK's directory, a domain,
anyone), read by google-api-python-client against the local Drive-format server; the one
access policy then reads a synced document only for its readers, on every read path. A
reader removed at the source loses the document with the next permission-only sync, which
downloads nothing."""

import importlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps as django_apps
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import User
from api.services import api_key_create
from assistant.answering import answer_events
from assistant.conversations import question_ask
from assistant.models import Citation, Message
from audit.models import AuditAction, AuditEvent
from connectors.kinds import PERMISSION_KINDS
from connectors.models import Connector, SourceKind, SyncState
from connectors.permissions import connector_readers_sync, readers_apply
from connectors.services import (
    connector_sync_request,
    connectors_readers_due_queue,
    drive_connector_add,
)
from connectors.sync import connector_sync_run
from localdev.drive_server import DriveLocal
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document, Workspace, WorkspaceRole
from workspaces.readers import UNRESTRICTED, documents_readers_reset
from workspaces.search.retrieval import MODES, chunks_retrieve
from workspaces.selectors import document_list
from workspaces.services import grant_set

LEAVE = b"# Leave\n\nEmployees get 25 days of paid leave a year. Unused days carry over."
TRAVEL = b"Trains are booked in second class for trips under four hours."
FAQ = b"The office opens at eight in the morning and closes at six in the evening."
QUESTION = "How many days of paid leave do employees get?"


@pytest.fixture
def drive(settings) -> Iterator[DriveLocal]:
    local = DriveLocal().start()
    settings.GOOGLE_DRIVE_API_URL = local.api_url()
    settings.GOOGLE_DRIVE_TOKEN_URI = local.token_url()
    settings.GOOGLE_ADMIN_API_URL = local.url()
    yield local
    local.stop()


@pytest.fixture
def people(org_a: Organization) -> dict[str, User]:
    return {
        "ann": make_member(email="ann@alpha.example"),
        "bob": make_member(email="bob@alpha.example"),
        "cy": make_member(email="cy@elsewhere.example"),
    }


@pytest.fixture
def files(drive: DriveLocal, people: dict[str, User]) -> dict[str, str]:
    """Leave shared with Ann and the team group (Bob), travel with anyone at alpha.example,
    the FAQ with anyone at all."""
    folder = drive.folder("Handbook")
    leave = drive.add("leave.md", LEAVE, mime_type="text/markdown", parents=(folder.id,))
    drive.share(leave.id, "user", "Ann@alpha.example")
    drive.share(leave.id, "group", "team@alpha.example", role="writer")
    drive.groups["team@alpha.example"] = ["bob@alpha.example"]
    travel = drive.add("travel.txt", TRAVEL, parents=(folder.id,))
    drive.share(travel.id, "domain", "alpha.example")
    faq = drive.add("faq.txt", FAQ, parents=(folder.id,))
    drive.share(faq.id, "anyone")
    return {"folder": folder.id, "leave": leave.id, "travel": travel.id, "faq": faq.id}


@pytest.fixture
def open_workspace(workspace: Workspace) -> Workspace:
    """Every member reads the workspace: the readers alone tell them apart."""
    Workspace.objects.filter(pk=workspace.pk).update(is_open=True)
    workspace.refresh_from_db()
    return workspace


def _connect(owner: User, workspace: Workspace, drive: DriveLocal, folder: str) -> Connector:
    connector = drive_connector_add(
        actor=owner, workspace=workspace, key_file=json.dumps(drive.service_account()),
        folder_id=folder,
    )  # fmt: skip
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    assert connector.state == SyncState.IDLE, connector.error
    # The sync queues ingestion once its transaction commits; the test's never does.
    documents_ingest(document_ids=list(Document.objects.values_list("pk", flat=True)))
    return connector


def _titles(user: User, workspace: Workspace) -> set[str]:
    return set(document_list(user=user, workspace=workspace).values_list("title", flat=True))


def _retrieved_titles(user: User, query: str) -> set[str]:
    return {
        chunk.document_title
        for mode in MODES
        for chunk in chunks_retrieve(user=user, query=query, k=20, mode=mode)
    }


async def _stream(organization: Organization, message_id: int) -> None:
    async for _ in answer_events(tenant=organization, message_id=message_id):
        pass


def _ask(organization: Organization, user: User, text: str) -> Message:
    """A question answered by the whole answering path, as the stream view runs it."""
    with override_settings(ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS=0):
        _, _, reply = question_ask(user=user, text=text)
        async_to_sync(_stream)(organization, reply.pk)
    reply.refresh_from_db()
    return reply


def _cited_titles(reply: Message) -> set[str]:
    return set(Citation.objects.filter(message=reply).values_list("document_title", flat=True))


def test_synced_documents_carry_their_drive_readers(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    people: dict[str, User],
):  # fmt: skip
    _connect(owner_a, open_workspace, drive, files["folder"])

    assert _titles(people["ann"], open_workspace) == {"leave", "travel", "faq"}
    assert _titles(people["bob"], open_workspace) == {"leave", "travel", "faq"}  # the group
    assert _titles(people["cy"], open_workspace) == {"faq"}  # another domain: the public one
    # The owner of the organization is no reader at the source either.
    assert _titles(owner_a, open_workspace) == {"faq", "travel"}
    assert _retrieved_titles(people["cy"], "paid leave trains office") == {"faq"}
    leave = Document.objects.get(title="leave")
    assert leave.reader_emails == ["ann@alpha.example", "files@example.com"]  # and its owner
    assert leave.reader_groups == ["google_drive:team@alpha.example"]


def test_a_reader_removed_at_the_source_loses_the_document_after_the_permission_sync(
    org_a: Organization, owner_a: User, open_workspace: Workspace, drive: DriveLocal,
    files: dict[str, str], people: dict[str, User],
):  # fmt: skip
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    ann = people["ann"]
    before = _ask(org_a, ann, QUESTION)
    assert "leave" in _cited_titles(before) and "25 days" in before.text
    citation = Citation.objects.get(message=before, document_title="leave")
    leave = Document.objects.get(title="leave")
    page = f"/w/{open_workspace.slug}/documents/{leave.pk}/"
    client = signed_in(org_a, ann)
    opened = client.get(page)
    # A synced document's page links to it at its source, as its row and citations do.
    assert opened.status_code == 200 and leave.source_url
    assert f'href="{leave.source_url}"' in opened.content.decode()
    assert client.get(f"/ask/sources/{citation.pk}/").status_code == 200
    downloads = drive.downloads()

    drive.unshare(files["leave"], "ann@alpha.example")
    assert connector_readers_sync(connector_id=connector.pk) == 1

    assert drive.downloads() == downloads  # permissions only: no content read
    assert _titles(ann, open_workspace) == {"travel", "faq"}
    assert "leave" not in _retrieved_titles(ann, "paid leave days employees")
    assert client.get(page).status_code == 404
    assert client.get(f"{page}download/").status_code == 404
    assert client.get(f"{page}row/").status_code == 404
    assert client.get(f"/ask/sources/{citation.pk}/").status_code == 404
    conversation = client.get(f"/ask/c/{before.conversation_id}/").content.decode()
    assert f"/ask/sources/{citation.pk}/" not in conversation and "25 days" not in conversation
    listing = client.get(f"/w/{open_workspace.slug}/").content.decode()
    assert page not in listing
    exported = client.post("/my-data/conversations/")
    with zipfile.ZipFile(io.BytesIO(b"".join(exported.streaming_content))) as archive:
        conversations = archive.read("conversations.jsonl").decode()
    assert "25 days" not in conversations and "Unused days" not in conversations
    after = _ask(org_a, ann, QUESTION)
    assert "leave" not in _cited_titles(after) and "25 days" not in after.text
    # Bob reads it still, through the team group, until the group loses him.
    assert "leave" in _titles(people["bob"], open_workspace)
    drive.groups["team@alpha.example"] = []
    connector_readers_sync(connector_id=connector.pk)
    assert _titles(people["bob"], open_workspace) == {"travel", "faq"}


def test_a_file_gone_from_drive_is_read_by_nobody_from_the_next_permission_sync(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    people: dict[str, User],
):  # fmt: skip
    """Before the content sync removes its document, the permission-only sync (which reads
    the changes feed from its last run on) already lets nobody read it."""
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    connector_readers_sync(connector_id=connector.pk)  # the first run: every item, a cursor
    drive.delete(files["faq"])

    assert connector_readers_sync(connector_id=connector.pk) == 1

    assert Document.objects.filter(title="faq").exists()  # until the content sync prunes it
    assert _titles(people["cy"], open_workspace) == set()
    assert "faq" not in _titles(people["ann"], open_workspace)


def test_an_api_key_reads_only_documents_without_readers(
    org_a: Organization, owner_a: User, open_workspace: Workspace, drive: DriveLocal,
    files: dict[str, str],
):  # fmt: skip
    _connect(owner_a, open_workspace, drive, files["folder"])
    issued = api_key_create(
        actor=owner_a, name="Bot", scopes=["read"], level=WorkspaceRole.VIEWER,
        expires_at=None, workspace_ids=[open_workspace.pk],
    )  # fmt: skip
    api = Client(HTTP_HOST=f"{org_a.slug}.localhost")
    headers = {"Authorization": f"Bearer {issued.secret}"}
    leave, faq = Document.objects.get(title="leave"), Document.objects.get(title="faq")

    assert api.get(f"/api/v1/documents/{leave.pk}/", headers=headers).status_code == 404
    assert api.get(f"/api/v1/documents/{faq.pk}/", headers=headers).status_code == 200
    listed = api.get(f"/api/v1/workspaces/{open_workspace.slug}/documents/", headers=headers).json()
    assert {row["title"] for row in listed["results"]} == {"faq"}
    found = api.get("/api/v1/search/", {"q": "paid leave trains office"}, headers=headers)
    assert {row["document_title"] for row in found.json()} == {"faq"}


def test_a_permission_change_without_an_edit_is_applied_by_the_content_sync_too(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    people: dict[str, User],
):  # fmt: skip
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    downloads = drive.downloads()
    drive.share(files["travel"], "user", "cy@elsewhere.example")

    connector_sync_request(actor=owner_a, connector=connector)
    connector_sync_run(connector_id=connector.pk)

    assert drive.downloads() == downloads  # the file's version did not move
    assert _titles(people["cy"], open_workspace) == {"travel", "faq"}


def test_shared_drive_files_and_unreadable_groups(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, people: dict[str, User]
):
    """A file on a shared drive has its permissions read through permissions.list; a
    group the directory will not describe (no delegation of its scope) lets nobody in."""
    folder = drive.folder("Shared")
    plan = drive.add("plan.txt", b"The plan for next year.", parents=(folder.id,),
                     on_shared_drive=True)  # fmt: skip
    drive.share(plan.id, "user", "cy@elsewhere.example")
    drive.share(plan.id, "group", "team@alpha.example")
    drive.groups["team@alpha.example"] = ["bob@alpha.example"]
    drive.directory_refused = True

    _connect(owner_a, open_workspace, drive, folder.id)

    assert any(path.endswith(f"/files/{plan.id}/permissions") for _, path, _ in drive.hits)
    assert _titles(people["cy"], open_workspace) == {"plan"}
    assert _titles(people["bob"], open_workspace) == set()


def test_without_mirroring_documents_are_governed_by_the_workspace_alone(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    people: dict[str, User],
):  # fmt: skip
    connector = drive_connector_add(
        actor=owner_a, workspace=open_workspace, key_file=json.dumps(drive.service_account()),
        folder_id=files["folder"], mirror_permissions=False,
    )  # fmt: skip
    connector_sync_run(connector_id=connector.pk)

    assert _titles(people["cy"], open_workspace) == {"leave", "travel", "faq"}
    assert connector_readers_sync(connector_id=connector.pk) == 0


def test_beat_queues_permission_syncs_more_often_than_content_syncs(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    settings,
):  # fmt: skip
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    settings.CONNECTOR_PERMISSIONS_SYNC_MINUTES = 10
    assert connectors_readers_due_queue() == 1  # never read on their own yet
    connector_readers_sync(connector_id=connector.pk)
    assert connectors_readers_due_queue() == 0
    Connector.objects.filter(pk=connector.pk).update(
        readers_synced_at=timezone.now() - timedelta(minutes=11)
    )
    assert connectors_readers_due_queue() == 1
    Connector.objects.filter(pk=connector.pk).update(paused=True)
    assert connectors_readers_due_queue() == 0


def test_the_kinds_whose_sources_have_permissions():
    assert PERMISSION_KINDS == {
        SourceKind.GOOGLE_DRIVE, SourceKind.CONFLUENCE, SourceKind.MICROSOFT,
    }  # fmt: skip


def _pre_permissions(connector: Connector) -> None:
    """The state a source synced before its documents carried readers left them in: no
    readers, nothing pending, a permission cursor from earlier."""
    document_ids = connector.items.exclude(document=None).values_list("document_id", flat=True)
    documents_readers_reset(document_ids=list(document_ids), readers=UNRESTRICTED)
    connector.items.update(readers_pending=False)
    Connector.objects.filter(pk=connector.pk).update(
        readers_cursor="1", readers_synced_at=timezone.now()
    )


def test_documents_synced_before_permissions_are_read_by_nobody_until_the_permission_sync(
    org_a: Organization, owner_a: User, open_workspace: Workspace, drive: DriveLocal,
    files: dict[str, str], people: dict[str, User],
):  # fmt: skip
    """The data migration (connectors 0007) restricts them to nobody, marks them pending on
    the Sources page, and makes the permission-only sync due and read every item."""
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    _pre_permissions(connector)
    assert _titles(people["cy"], open_workspace) == {"leave", "travel", "faq"}  # the gap
    migration = importlib.import_module("connectors.migrations.0007_item_readers_pending")

    migration.documents_restrict(django_apps, None)

    for user in (*people.values(), owner_a):
        assert _titles(user, open_workspace) == set()
        assert _retrieved_titles(user, "paid leave trains office") == set()
    sources = signed_in(org_a, owner_a).get(f"/w/{open_workspace.slug}/sources/")
    pending = "3 documents from this source wait for their permissions: nobody reads them here"
    assert pending in sources.content.decode()
    assert connectors_readers_due_queue() == 1

    assert connector_readers_sync(connector_id=connector.pk) == 3

    assert _titles(people["ann"], open_workspace) == {"leave", "travel", "faq"}
    assert _titles(people["cy"], open_workspace) == {"faq"}
    assert not connector.items.filter(readers_pending=True).exists()
    sources = signed_in(org_a, owner_a).get(f"/w/{open_workspace.slug}/sources/")
    assert "Permissions pending" not in sources.content.decode()


def test_the_migration_leaves_sources_without_permissions_or_mirroring_alone(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    people: dict[str, User], website: Connector,
):  # fmt: skip
    not_mirrored = drive_connector_add(
        actor=owner_a, workspace=open_workspace, key_file=json.dumps(drive.service_account()),
        folder_id=files["folder"], mirror_permissions=False,
    )  # fmt: skip
    connector_sync_run(connector_id=not_mirrored.pk)
    connector_sync_run(connector_id=website.pk)
    migration = importlib.import_module("connectors.migrations.0007_item_readers_pending")

    migration.documents_restrict(django_apps, None)

    assert not Document.objects.filter(readers_restricted=True).exists()
    assert len(_titles(people["cy"], open_workspace)) == 7  # three files, four pages


def test_a_source_with_permissions_that_gives_no_readers_leaves_the_item_to_nobody(
    owner_a: User, open_workspace: Workspace, drive: DriveLocal, files: dict[str, str],
    people: dict[str, User],
):  # fmt: skip
    """Fail closed: a source that has permissions but said nothing about an item's (None)
    does not make it everyone's; its next word on them does."""
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    connector_readers_sync(connector_id=connector.pk)  # from now on, changes since a cursor
    connector.refresh_from_db()
    assert connector.readers_cursor
    item = connector.items.get(source_id=files["travel"])

    assert readers_apply(connector, item, None) is True

    assert _titles(people["ann"], open_workspace) == {"leave", "faq"}
    assert connector.items.filter(readers_pending=True).count() == 1
    # The permission-only sync reads a pending item whatever its cursor says changed.
    connector_readers_sync(connector_id=connector.pk)
    assert connector.items.filter(readers_pending=True).count() == 0
    assert _titles(people["ann"], open_workspace) == {"leave", "travel", "faq"}


def test_turning_mirroring_off_and_on_for_an_existing_source(
    org_a: Organization, owner_a: User, open_workspace: Workspace, drive: DriveLocal,
    files: dict[str, str], people: dict[str, User], django_capture_on_commit_callbacks,
):  # fmt: skip
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    client = signed_in(org_a, owner_a)
    settings_url = f"/w/{open_workspace.slug}/sources/{connector.pk}/settings/"
    page = client.get(f"/w/{open_workspace.slug}/sources/").content.decode()
    assert f'id="mirror-{connector.pk}" name="mirror_permissions"' in page

    off = client.post(settings_url, {"schedule": connector.schedule, "mirror_permissions": "0"})

    assert off.status_code == 302
    assert _titles(people["cy"], open_workspace) == {"leave", "travel", "faq"}
    assert _titles(owner_a, open_workspace) == {"leave", "travel", "faq"}
    with django_capture_on_commit_callbacks() as queued:
        client.post(settings_url, {"schedule": connector.schedule, "mirror_permissions": "1"})
    # Fail closed at once: nobody reads them until the permission sync, queued now.
    assert _titles(people["ann"], open_workspace) == set()
    assert len(queued) == 1
    assert connector_readers_sync(connector_id=connector.pk) == 3
    assert _titles(people["ann"], open_workspace) == {"leave", "travel", "faq"}
    assert _titles(people["cy"], open_workspace) == {"faq"}
    changes = AuditEvent.objects.filter(action=AuditAction.SOURCE_CHANGED).order_by("pk")
    assert [event.details["after"]["mirror_permissions"] for event in changes] == [False, True]
    assert [event.details["before"]["mirror_permissions"] for event in changes] == [True, False]


def test_the_mirroring_setting_is_csrf_checked_and_404_for_non_managers(
    org_a: Organization, owner_a: User, open_workspace: Workspace, drive: DriveLocal,
    files: dict[str, str], people: dict[str, User],
):  # fmt: skip
    connector = _connect(owner_a, open_workspace, drive, files["folder"])
    settings_url = f"/w/{open_workspace.slug}/sources/{connector.pk}/settings/"
    body = {"schedule": connector.schedule, "mirror_permissions": "0"}
    manager = make_member(email="lead@alpha.example")
    grant_set(actor=owner_a, workspace=open_workspace, grantee=manager, role=WorkspaceRole.MANAGER)
    forged = Client(HTTP_HOST=f"{org_a.slug}.localhost", enforce_csrf_checks=True)
    forged.force_login(owner_a)

    assert forged.post(settings_url, body).status_code == 403
    assert signed_in(org_a, manager).post(settings_url, body).status_code == 404
    assert signed_in(org_a, people["ann"]).post(settings_url, body).status_code == 404
    bad = signed_in(org_a, owner_a).post(
        settings_url, {"schedule": connector.schedule, "mirror_permissions": "maybe"}
    )
    assert bad.status_code == 400
    assert "Choose who reads the items from the list." in bad.content.decode()
    connector.refresh_from_db()
    assert connector.mirror_permissions is True
    assert _titles(people["cy"], open_workspace) == {"faq"}


def test_a_website_has_no_permissions_to_mirror(
    org_a: Organization, owner_a: User, workspace: Workspace, website: Connector
):
    Connector.objects.filter(pk=website.pk).update(mirror_permissions=False)
    client = signed_in(org_a, owner_a)

    response = client.post(
        f"/w/{workspace.slug}/sources/{website.pk}/settings/",
        {"schedule": website.schedule, "mirror_permissions": "1"},
        follow=True,
    )

    assert "Website sources do not say who may read each item" in response.content.decode()
    website.refresh_from_db()
    assert website.mirror_permissions is False
