"""Google Drive through google-api-python-client and google-auth's service-account
credentials, against the local Drive-format server (localdev/drive_server.py): a first
sync lists the folder, later ones read only the changes API's delta."""

import json
from collections.abc import Iterator

import pytest

from accounts.models import User
from connectors.models import Connector, SyncState
from connectors.services import ConnectorError, drive_connector_add
from connectors.sync import connector_sync_run
from localdev.drive_server import GOOGLE_DOC, DriveLocal
from tests.files import docx_file
from workspaces.models import Document, Workspace

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def drive(settings) -> Iterator[DriveLocal]:
    local = DriveLocal().start()
    settings.GOOGLE_DRIVE_API_URL = local.api_url()
    settings.GOOGLE_DRIVE_TOKEN_URI = local.token_url()
    yield local
    local.stop()


@pytest.fixture
def handbook(drive: DriveLocal) -> dict[str, str]:
    """A shared folder with a Markdown file, a text file and a Google Doc, and a file in
    another folder the source must not read."""
    folder = drive.folder("Handbook")
    other = drive.folder("Private")
    leave = drive.add("leave.md", b"# Leave\n\nEmployees get 25 days of paid leave a year.",
                      mime_type="text/markdown", parents=(folder.id,))  # fmt: skip
    travel = drive.add("travel.txt", b"Trains are booked in second class for trips under four hours.",
                       parents=(folder.id,))  # fmt: skip
    onboarding = drive.add(
        "Onboarding", mime_type=GOOGLE_DOC, parents=(folder.id,),
        exports={DOCX: docx_file(lambda d: d.add_paragraph(
            "New starters meet their buddy on the first morning."), title="Onboarding")},
    )  # fmt: skip
    drive.add("salaries.txt", b"Not shared with the knowledge base.", parents=(other.id,))
    return {
        "folder": folder.id,
        "leave": leave.id,
        "travel": travel.id,
        "onboarding": onboarding.id,
    }


@pytest.fixture
def source(
    owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: dict[str, str]
) -> Connector:
    return drive_connector_add(
        actor=owner_a,
        workspace=workspace,
        key_file=json.dumps(drive.service_account()),
        folder_id=handbook["folder"],
    )


def _sync(connector: Connector) -> Connector:
    from connectors.services import connector_sync_request

    if connector.state != SyncState.QUEUED:
        assert connector.created_by is not None
        connector_sync_request(actor=connector.created_by, connector=connector)
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    return connector


def test_first_sync_reads_the_folder_and_exports_google_docs(
    source: Connector, drive: DriveLocal, workspace: Workspace, handbook: dict[str, str]
):
    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.added == 3
    titles = set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))
    assert titles == {"leave", "travel", "Onboarding"}
    onboarding = Document.objects.get(title="Onboarding")
    assert onboarding.original_name == "Onboarding.docx"
    assert onboarding.source_url == f"{drive.url()}file/d/{handbook['onboarding']}/view"
    assert connector.cursor  # the changes API's page token, for the next sync


def test_a_sync_without_changes_downloads_nothing(source: Connector, drive: DriveLocal):
    _sync(source)
    downloads = drive.downloads()

    connector = _sync(source)

    assert (connector.added, connector.updated, connector.removed) == (0, 0, 0)
    assert drive.downloads() == downloads
    assert not any(path == "/drive/v3/files" for _, path, _ in drive.hits[-5:])


def test_the_next_sync_applies_only_the_changes(
    source: Connector, drive: DriveLocal, workspace: Workspace, handbook: dict[str, str]
):
    _sync(source)
    downloads = drive.downloads()
    drive.edit(handbook["leave"], b"# Leave\n\nEmployees get 27 days of paid leave a year.")
    drive.delete(handbook["travel"])
    drive.add("security.md", b"# Security\n\nLaptops lock after five minutes.",
              mime_type="text/markdown", parents=(handbook["folder"],))  # fmt: skip

    connector = _sync(source)

    assert (connector.added, connector.updated, connector.removed) == (1, 1, 1)
    assert drive.downloads() == downloads + 2
    titles = set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))
    assert titles == {"leave", "security", "Onboarding"}
    leave = Document.objects.get(title="leave")
    assert leave.version == 2 and b"27 days" in leave.file.read()


def test_rate_limited_export_waits_then_resumes(
    source: Connector, drive: DriveLocal, handbook: dict[str, str]
):
    drive.rate_limit(f"/files/{handbook['onboarding']}/export", retry_after=5)

    first = connector_sync_run(connector_id=source.pk)
    second = connector_sync_run(connector_id=source.pk)

    source.refresh_from_db()
    assert (first.state, first.retry_after) == (SyncState.WAITING, 5)
    assert second.state == SyncState.IDLE
    assert source.added == 3


def test_a_key_file_that_is_not_a_service_accounts_is_refused(owner_a: User, workspace: Workspace):
    with pytest.raises(ConnectorError, match="not a service account"):
        drive_connector_add(actor=owner_a, workspace=workspace, key_file='{"type": "user"}')
    with pytest.raises(ConnectorError, match="not JSON"):
        drive_connector_add(actor=owner_a, workspace=workspace, key_file="hello")


def test_a_key_google_does_not_accept_stops_the_sync_with_the_reason(
    owner_a: User, workspace: Workspace, drive: DriveLocal
):
    stranger = DriveLocal().service_account("stranger@example-project.iam.gserviceaccount.com")
    connector = drive_connector_add(
        actor=owner_a, workspace=workspace, key_file=json.dumps(stranger)
    )

    connector_sync_run(connector_id=connector.pk)

    connector.refresh_from_db()
    assert connector.state == SyncState.FAILED
    assert "Google refused the service account's key" in connector.error


def test_owner_adds_a_drive_folder_from_the_page(
    org_a, owner_a: User, workspace: Workspace, drive: DriveLocal, handbook: dict[str, str]
):
    from tests.conftest import signed_in

    client = signed_in(org_a, owner_a)
    bad = client.post(f"/w/{workspace.slug}/sources/google-drive/", {"key_file": "{}"})
    added = client.post(
        f"/w/{workspace.slug}/sources/google-drive/",
        {"key_file": json.dumps(drive.service_account()), "folder_id": handbook["folder"]},
    )

    assert bad.status_code == 400
    assert "not a service account" in bad.content.decode()
    assert added.status_code == 302
    connector = Connector.objects.get()
    assert connector.selection["folder_id"] == handbook["folder"]
    assert "PRIVATE KEY" not in connector.credentials_encrypted
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    assert f"Folder {handbook['folder']}" in page
