"""Source permissions of a SharePoint library (issue 27): each file's Graph permissions
become its readers (people, Entra groups with their members, an organization-wide link as
the tenant's domains, an anyone link as public; a SharePoint site group lets nobody in), read
through msgraph-sdk against the local Graph-format server; the access policy then reads a
synced document only for its readers. A change of sharing at the source is applied by the
permission-only sync (no content read) and by the next content sync."""

from collections.abc import Iterator

import pytest

from accounts.models import User
from connectors.models import Connector, SyncState
from connectors.permissions import connector_readers_sync
from connectors.services import connector_sync_request, microsoft_connector_add
from connectors.sync import connector_sync_run
from localdev.graph_server import GraphDrive, GraphLocal
from tenants.models import Organization
from tests.factories import make_member
from workspaces.models import Document, SourceGroup, Workspace
from workspaces.selectors import document_list

TEAM = "6f1c2a5e-4b7d-4e0a-9c3b-2d8e1f0a7b61"  # an Entra group's id


@pytest.fixture
def graph(settings) -> Iterator[GraphLocal]:
    local = GraphLocal().start()
    settings.MICROSOFT_LOGIN_URL = local.login_url()
    settings.MICROSOFT_GRAPH_URL = local.graph_url()
    settings.MICROSOFT_CA_BUNDLE = local.ca_file
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
def library(graph: GraphLocal) -> GraphDrive:
    """Every file inherits the site's Members group; leave is shared with Ann and the team
    group (Bob), travel with anyone in the organization, the FAQ with anyone; salaries
    keeps the site group alone."""
    drive = graph.site("alpha.sharepoint.com", "/sites/hr", "Human resources")
    drive.permissions = [{"id": "members", "roles": ["write"], "grantedToV2": {
        "siteGroup": {"id": "3", "displayName": "HR Members", "loginName": "HR Members"}}}]  # fmt: skip
    graph.domains = ["alpha.example"]
    graph.groups[TEAM] = ["Bob@alpha.example"]
    leave = graph.add(drive, "leave.md", b"# Leave\n\nEmployees get 25 days of paid leave.",
                      mime_type="text/markdown")  # fmt: skip
    graph.share(drive, leave.id, "user", "Ann@alpha.example")
    graph.share(drive, leave.id, "group", TEAM, role="write")
    travel = graph.add(drive, "travel.txt", b"Trains are booked in second class.")
    graph.share(drive, travel.id, "organization")
    faq = graph.add(drive, "faq.txt", b"The office opens at eight in the morning.")
    graph.share(drive, faq.id, "anyone")
    graph.add(drive, "salaries.txt", b"Salary bands are reviewed every April.")
    return drive


@pytest.fixture
def open_workspace(workspace: Workspace) -> Workspace:
    """Every member reads the workspace: the readers alone tell them apart."""
    Workspace.objects.filter(pk=workspace.pk).update(is_open=True)
    workspace.refresh_from_db()
    return workspace


@pytest.fixture
def source(owner_a: User, open_workspace: Workspace, graph: GraphLocal, library: GraphDrive):
    connector = microsoft_connector_add(
        actor=owner_a, workspace=open_workspace, **graph.app(),
        site_url="https://alpha.sharepoint.com/sites/hr",
    )  # fmt: skip
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    assert connector.state == SyncState.IDLE, connector.error
    return connector


def _titles(user: User, workspace: Workspace) -> set[str]:
    return set(document_list(user=user, workspace=workspace).values_list("title", flat=True))


def _find(drive: GraphDrive, name: str) -> str:
    return next(item.id for item in drive.items.values() if item.name == name)


def _permission_reads(graph: GraphLocal) -> int:
    return sum(1 for _, path, _ in graph.hits if path.endswith("/permissions"))


def test_synced_files_carry_their_sharepoint_readers(
    source: Connector, open_workspace: Workspace, people: dict[str, User], owner_a: User
):
    assert _titles(people["ann"], open_workspace) == {"leave", "travel", "faq"}
    assert _titles(people["bob"], open_workspace) == {"leave", "travel", "faq"}  # the group
    assert _titles(people["cy"], open_workspace) == {"faq"}  # another domain: the public one
    assert _titles(owner_a, open_workspace) == {"travel", "faq"}
    leave = Document.objects.get(title="leave")
    assert leave.reader_emails == ["ann@alpha.example"]
    assert f"microsoft:entra:{TEAM}" in leave.reader_groups
    assert "microsoft:site:3" in leave.reader_groups  # named, but lets nobody in
    assert Document.objects.get(title="travel").reader_domains == ["alpha.example"]
    assert Document.objects.get(title="salaries").readers_restricted


def test_a_reader_removed_at_the_source_loses_the_file_after_the_permission_sync(
    source: Connector, graph: GraphLocal, library: GraphDrive, open_workspace: Workspace,
    people: dict[str, User],
):  # fmt: skip
    connector_readers_sync(connector_id=source.pk)  # the first reads every file's, once
    downloads, reads = graph.downloads(), _permission_reads(graph)

    graph.unshare(library, _find(library, "leave.md"), "Ann@alpha.example")
    changed = connector_readers_sync(connector_id=source.pk)

    assert changed == 1
    assert graph.downloads() == downloads  # permissions only: no content read
    assert _permission_reads(graph) == reads + 1  # only the file whose sharing changed
    assert _titles(people["ann"], open_workspace) == {"travel", "faq"}
    assert "leave" in _titles(people["bob"], open_workspace)
    graph.groups[TEAM] = []
    connector_readers_sync(connector_id=source.pk)
    assert _titles(people["bob"], open_workspace) == {"travel", "faq"}


def test_a_sharing_change_is_applied_by_the_next_content_sync_without_a_download(
    source: Connector, graph: GraphLocal, library: GraphDrive, open_workspace: Workspace,
    people: dict[str, User], owner_a: User,
):  # fmt: skip
    downloads = graph.downloads()
    graph.share(library, _find(library, "salaries.txt"), "user", "cy@elsewhere.example")

    connector_sync_request(actor=owner_a, connector=source)
    connector_sync_run(connector_id=source.pk)

    source.refresh_from_db()
    assert (source.unchanged, source.added, source.updated) == (1, 0, 0)
    assert graph.downloads() == downloads
    assert _titles(people["cy"], open_workspace) == {"faq", "salaries"}


def test_without_mirroring_every_reader_of_the_workspace_reads_every_file(
    owner_a: User, open_workspace: Workspace, graph: GraphLocal, library: GraphDrive,
    people: dict[str, User],
):  # fmt: skip
    connector = microsoft_connector_add(
        actor=owner_a, workspace=open_workspace, **graph.app(),
        site_url="https://alpha.sharepoint.com/sites/hr", mirror_permissions=False,
    )  # fmt: skip

    connector_sync_run(connector_id=connector.pk)

    assert _titles(people["cy"], open_workspace) == {"leave", "travel", "faq", "salaries"}


NESTED = "0d4e8b1c-7a2f-4c6e-9b3d-5e1f2a8c4d70"  # an Entra group inside the team group


def test_an_entra_groups_people_are_read_through_nested_groups_over_pages(
    source: Connector, graph: GraphLocal, open_workspace: Workspace, people: dict[str, User]
):
    """A group granted on a file (`grantedToV2.group`, a security or Microsoft 365 group)
    lets in the people of its transitive members, over as many pages as Graph gives: not the
    nested group's own address, nor a device."""
    dee = make_member(email="dee@alpha.example")
    graph.members_page_size = 2
    graph.groups[TEAM] = [f"group:{NESTED}", "device:Kiosk in the lobby", "Dee@alpha.example"]
    graph.groups[NESTED] = ["Bob@alpha.example"]

    connector_readers_sync(connector_id=source.pk)

    members = SourceGroup.objects.get(key=f"microsoft:entra:{TEAM}").members
    assert members == ["bob@alpha.example", "dee@alpha.example"]
    assert "leave" in _titles(dee, open_workspace)
    assert "leave" in _titles(people["bob"], open_workspace)  # through the nested group
    member_pages = [q for _, path, q in graph.hits if path.endswith("/transitiveMembers")]
    assert len(member_pages) >= 2 and any("skiptoken" in query for query in member_pages)


def test_groups_graph_will_not_describe_and_site_groups_let_nobody_in(
    source: Connector, graph: GraphLocal, open_workspace: Workspace, people: dict[str, User],
    owner_a: User,
):  # fmt: skip
    """Fewer readers than SharePoint allows, never more: an Entra group whose members the app
    may not read (no GroupMember.Read.All: 403) and a SharePoint site group ("HR Members",
    `grantedToV2.siteGroup`, which Graph has no route to list) let nobody in."""
    graph.groups_refused = {TEAM}

    connector_readers_sync(connector_id=source.pk)

    assert SourceGroup.objects.get(key=f"microsoft:entra:{TEAM}").members == []
    assert SourceGroup.objects.get(key="microsoft:site:3").members == []
    assert _titles(people["bob"], open_workspace) == {"travel", "faq"}
    for user in (*people.values(), owner_a):
        assert "salaries" not in _titles(user, open_workspace)  # its site group alone
    assert not any("sitegroups" in path.lower() for _, path, _ in graph.hits)
