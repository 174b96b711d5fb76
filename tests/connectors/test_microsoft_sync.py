"""SharePoint and OneDrive through msal (client credentials) and the Graph SDK
(msgraph-sdk), against the local server that speaks the identity platform's and Graph's
wire format over HTTPS (localdev/graph_server.py): a first sync reads the drive's delta,
later ones only what changed since its deltaLink."""

from collections.abc import Iterator

import pytest

from accounts.models import User
from connectors.models import Connector, SyncState
from connectors.services import ConnectorError, connector_sync_request, microsoft_connector_add
from connectors.sync import connector_sync_run
from localdev.graph_server import GraphDrive, GraphLocal
from tests.files import docx_file
from workspaces.models import Document, Workspace

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def graph(settings) -> Iterator[GraphLocal]:
    local = GraphLocal().start()
    settings.MICROSOFT_LOGIN_URL = local.login_url()
    settings.MICROSOFT_GRAPH_URL = local.graph_url()
    settings.MICROSOFT_CA_BUNDLE = local.ca_file
    yield local
    local.stop()


@pytest.fixture
def library(graph: GraphLocal) -> GraphDrive:
    """The HR site's document library: a Policies folder (a Markdown file, a Word file and
    a subfolder with a text file) and, beside it, a file the source must not read."""
    drive = graph.site("example.sharepoint.com", "/sites/hr", "Human resources")
    policies = graph.folder(drive, "Policies")
    travel = graph.folder(drive, "Travel", parent=policies)
    graph.add(drive, "leave.md", b"# Leave\n\nEmployees get 25 days of paid leave a year.",
              parent=policies, mime_type="text/markdown")  # fmt: skip
    graph.add(
        drive, "Onboarding.docx", parent=policies, mime_type=DOCX,
        content=docx_file(lambda d: d.add_paragraph(
            "New starters meet their buddy on the first morning."), title="Onboarding"),
    )  # fmt: skip
    graph.add(drive, "trains.txt", b"Trains are booked in second class for trips under four "
              b"hours.", parent=travel)  # fmt: skip
    graph.add(drive, "salaries.txt", b"Not shared with the knowledge base.")
    return drive


@pytest.fixture
def source(owner_a: User, workspace: Workspace, graph: GraphLocal, library: GraphDrive):
    return microsoft_connector_add(
        actor=owner_a, workspace=workspace, **graph.app(),
        site_url="https://example.sharepoint.com/sites/hr", folder="Policies",
    )  # fmt: skip


def _sync(connector: Connector) -> Connector:
    if connector.state != SyncState.QUEUED:
        assert connector.created_by is not None
        connector_sync_request(actor=connector.created_by, connector=connector)
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    return connector


def _titles(workspace: Workspace) -> set[str]:
    return set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))


def _find(drive: GraphDrive, name: str) -> str:
    return next(item.id for item in drive.items.values() if item.name == name)


def test_first_sync_reads_the_folder_of_the_sites_library(
    source: Connector, graph: GraphLocal, workspace: Workspace, library: GraphDrive
):
    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.added == 3
    assert _titles(workspace) == {"leave", "Onboarding", "trains"}
    onboarding = Document.objects.get(title="Onboarding")
    assert onboarding.original_name == "Onboarding.docx"
    assert onboarding.source_url == (
        "https://example.sharepoint.com/sites/hr/Shared%20Documents/Policies/Onboarding.docx"
    )
    assert connector.cursor  # the deltaLink's token, where the next sync starts
    assert graph.downloads() == 3


def test_delta_pages_are_followed_through_next_links(
    owner_a: User, workspace: Workspace, graph: GraphLocal, library: GraphDrive
):
    graph.page_size = 2
    connector = microsoft_connector_add(
        actor=owner_a, workspace=workspace, **graph.app(),
        site_url="https://example.sharepoint.com/sites/hr",
    )  # fmt: skip

    connector = _sync(connector)

    assert connector.added == 4  # the whole library: the folder's three and salaries.txt
    assert sum(1 for _, path, query in graph.hits if "skiptoken" in query) >= 3


def test_a_sync_without_changes_downloads_nothing(source: Connector, graph: GraphLocal):
    _sync(source)
    downloads = graph.downloads()

    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert (connector.added, connector.updated, connector.removed) == (0, 0, 0)
    assert graph.downloads() == downloads


def test_the_next_sync_applies_only_the_changed_added_and_deleted_items(
    source: Connector, graph: GraphLocal, workspace: Workspace, library: GraphDrive
):
    _sync(source)
    downloads = graph.downloads()
    graph.edit(library, _find(library, "leave.md"),
               b"# Leave\n\nEmployees get 27 days of paid leave a year.")  # fmt: skip
    graph.delete(library, _find(library, "trains.txt"))
    travel = library.items[_find(library, "Travel")]
    graph.add(library, "hotels.md", b"# Hotels\n\nHotels up to 180 euros a night need no "
              b"approval.", parent=travel, mime_type="text/markdown")  # fmt: skip
    graph.add(library, "bonus.txt", b"Outside the folder: never synced.")

    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert (connector.added, connector.updated, connector.removed) == (1, 1, 1)
    assert graph.downloads() == downloads + 2
    assert _titles(workspace) == {"leave", "Onboarding", "hotels"}
    leave = Document.objects.get(title="leave")
    assert leave.version == 2 and b"27 days" in leave.file.read()
    delta_calls = [query for _, path, query in graph.hits if path.endswith("/root/delta")]
    assert delta_calls[-1].startswith("token=")


def test_a_file_moved_out_of_the_folder_is_removed(
    source: Connector, graph: GraphLocal, workspace: Workspace, library: GraphDrive
):
    _sync(source)
    leave = library.items[_find(library, "leave.md")]
    leave.parent_id = graph.root(library).id
    library.changes.append(leave.id)

    connector = _sync(source)

    assert connector.removed == 1
    assert _titles(workspace) == {"Onboarding", "trains"}


def test_an_expired_delta_token_reads_everything_again_and_prunes(
    source: Connector, graph: GraphLocal, workspace: Workspace, library: GraphDrive
):
    _sync(source)
    graph.delete(library, _find(library, "trains.txt"))
    graph.expire_tokens(library)

    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.removed == 1
    assert _titles(workspace) == {"leave", "Onboarding"}


def test_a_users_onedrive_is_synced(owner_a: User, workspace: Workspace, graph: GraphLocal):
    drive = graph.onedrive("kim@example.com")
    graph.add(drive, "notes.txt", b"The quarterly review is on the first Monday of April.")
    connector = microsoft_connector_add(
        actor=owner_a, workspace=workspace, **graph.app(), user="Kim@example.com"
    )

    connector = _sync(connector)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.name == "OneDrive kim@example.com"
    assert _titles(workspace) == {"notes"}


def test_rate_limited_download_waits_then_resumes(
    source: Connector, graph: GraphLocal, library: GraphDrive
):
    graph.rate_limit(f"/items/{_find(library, 'Onboarding.docx')}/content", retry_after=7)

    first = connector_sync_run(connector_id=source.pk)
    source.refresh_from_db()
    waiting = source.state
    second = connector_sync_run(connector_id=source.pk)

    source.refresh_from_db()
    assert (first.state, first.retry_after, waiting) == (SyncState.WAITING, 7, "waiting")
    assert second.state == SyncState.IDLE
    assert source.added == 3


def test_rate_limited_delta_waits_without_listing_twice(
    source: Connector, graph: GraphLocal, workspace: Workspace
):
    graph.rate_limit("/root/delta", retry_after=3)

    first = connector_sync_run(connector_id=source.pk)
    second = connector_sync_run(connector_id=source.pk)

    assert (first.state, first.retry_after) == (SyncState.WAITING, 3)
    assert second.state == SyncState.IDLE
    assert _titles(workspace) == {"leave", "Onboarding", "trains"}


def test_a_wrong_client_secret_stops_the_sync_and_the_page_says_why(
    org_a, owner_a: User, workspace: Workspace, graph: GraphLocal, library: GraphDrive
):
    from tests.conftest import signed_in

    app = graph.app()
    connector = microsoft_connector_add(
        actor=owner_a, workspace=workspace, tenant_id=app["tenant_id"],
        client_id=app["client_id"], client_secret="not-the-secret",
        site_url="https://example.sharepoint.com/sites/hr",
    )  # fmt: skip

    connector_sync_run(connector_id=connector.pk)

    connector.refresh_from_db()
    assert connector.state == SyncState.FAILED
    page = signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/sources/").content.decode()
    assert "Microsoft refused the app&#x27;s credentials: AADSTS7000215: Invalid client " in page
    assert Document.objects.filter(workspace=workspace).count() == 0


def test_an_unknown_tenant_or_site_stops_the_sync_with_the_reason(
    owner_a: User, workspace: Workspace, graph: GraphLocal, library: GraphDrive
):
    app = graph.app()
    stranger = microsoft_connector_add(
        actor=owner_a, workspace=workspace, tenant_id="contoso.onmicrosoft.com",
        client_id=app["client_id"], client_secret=app["client_secret"],
        site_url="https://example.sharepoint.com/sites/hr",
    )  # fmt: skip
    no_site = microsoft_connector_add(
        actor=owner_a, workspace=workspace, **app,
        site_url="https://example.sharepoint.com/sites/finance",
    )  # fmt: skip

    connector_sync_run(connector_id=stranger.pk)
    connector_sync_run(connector_id=no_site.pk)

    stranger.refresh_from_db()
    no_site.refresh_from_db()
    assert "did not accept the tenant ID “contoso.onmicrosoft.com”" in stranger.error
    assert "does not find https://example.sharepoint.com/sites/finance" in no_site.error


def test_a_selection_must_name_one_drive(owner_a: User, workspace: Workspace, graph: GraphLocal):
    with pytest.raises(ConnectorError, match="either a SharePoint site"):
        microsoft_connector_add(actor=owner_a, workspace=workspace, **graph.app())
    with pytest.raises(ConnectorError, match="either a SharePoint site"):
        microsoft_connector_add(
            actor=owner_a, workspace=workspace, **graph.app(),
            site_url="https://example.sharepoint.com/sites/hr", user="kim@example.com",
        )  # fmt: skip


def test_owner_adds_a_sharepoint_library_from_the_page(
    org_a, owner_a: User, workspace: Workspace, graph: GraphLocal, library: GraphDrive
):
    from tests.conftest import signed_in

    client = signed_in(org_a, owner_a)
    app = graph.app()
    bad = client.post(f"/w/{workspace.slug}/sources/microsoft/", {**app})
    added = client.post(
        f"/w/{workspace.slug}/sources/microsoft/",
        {**app, "site_url": "https://example.sharepoint.com/sites/hr", "folder": "/Policies/"},
    )

    assert bad.status_code == 400
    assert "Give either a SharePoint site" in bad.content.decode()
    assert added.status_code == 302
    connector = Connector.objects.get()
    assert connector.selection["folder"] == "Policies"
    assert app["client_secret"] not in connector.credentials_encrypted
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    assert "SharePoint / OneDrive" in page
    assert "https://example.sharepoint.com/sites/hr · folder Policies" in page


def test_a_deleted_folder_takes_its_files_with_it(
    source: Connector, graph: GraphLocal, workspace: Workspace, library: GraphDrive
):
    _sync(source)
    downloads = graph.downloads()
    graph.delete(library, _find(library, "Travel"))  # delta names the folder alone

    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.removed == 1
    assert _titles(workspace) == {"leave", "Onboarding"}
    assert graph.downloads() == downloads  # the others were read again, not downloaded
