"""Confluence's permissions as readers (issue 27), against the local Confluence-format
server: a page is read only by those who may view its space and whom its restrictions (its
own and its ancestors') let in; a person taken off a restriction or out of the space's
viewers in Confluence loses the page here at the next permission-only sync, which reads no
content."""

from collections.abc import Iterator

import pytest

from accounts.models import User
from connectors.models import Connector, SyncState
from connectors.permissions import connector_readers_sync
from connectors.services import confluence_connector_add
from connectors.sync import connector_sync_run
from localdev.confluence_server import ConfluenceLocal, Content
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document, Workspace
from workspaces.search.retrieval import MODES, chunks_retrieve
from workspaces.selectors import document_list


@pytest.fixture
def confluence() -> Iterator[ConfluenceLocal]:
    local = ConfluenceLocal().start()
    local.account("sync@alpha.example", "ATATT-perm")
    yield local
    local.stop()


@pytest.fixture
def people(org_a: Organization) -> dict[str, User]:
    return {
        "ann": make_member(email="ann@alpha.example"),
        "bob": make_member(email="bob@alpha.example"),
        "cy": make_member(email="cy@alpha.example"),
    }


@pytest.fixture
def pages(confluence: ConfluenceLocal, people: dict[str, User]) -> dict[str, Content]:
    """Salaries restricted to Ann and the payroll group (Bob); a bonus page under it,
    restricted to Ann too (so only Ann); the holidays page unrestricted."""
    confluence.space("HR", "Human Resources")
    salaries = confluence.page("HR", "Salaries", "<p>Salaries are paid on the 25th.</p>")
    confluence.restrict(salaries.id, ["Ann@alpha.example"], ["payroll"])
    confluence.group("payroll", ["bob@alpha.example"])
    bonus = confluence.page("HR", "Bonus", "<p>The bonus is paid in March.</p>", parent=salaries.id)
    confluence.restrict(bonus.id, ["ann@alpha.example", "cy@alpha.example"])
    holidays = confluence.page("HR", "Holidays", "<p>The office closes on public holidays.</p>")
    return {"salaries": salaries, "bonus": bonus, "holidays": holidays}


@pytest.fixture
def open_workspace(workspace: Workspace) -> Workspace:
    """Every member reads the workspace: the readers alone tell them apart."""
    Workspace.objects.filter(pk=workspace.pk).update(is_open=True)
    workspace.refresh_from_db()
    return workspace


@pytest.fixture
def connector(
    owner_a: User, open_workspace: Workspace, confluence: ConfluenceLocal,
    pages: dict[str, Content],
) -> Connector:  # fmt: skip
    connector = confluence_connector_add(
        actor=owner_a, workspace=open_workspace, site_url=confluence.url(),
        email="sync@alpha.example", api_token="ATATT-perm", spaces=["HR"],
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


def test_restricted_pages_are_read_only_by_the_people_and_groups_they_name(
    connector: Connector, open_workspace: Workspace, people: dict[str, User]
):
    assert _titles(people["ann"], open_workspace) == {"Salaries", "Bonus", "Holidays"}
    # Bob through the payroll group; the bonus page's own restriction leaves him out.
    assert _titles(people["bob"], open_workspace) == {"Salaries", "Holidays"}
    # Cy is named on the bonus page, but its parent page does not let him in.
    assert _titles(people["cy"], open_workspace) == {"Holidays"}
    assert _retrieved_titles(people["cy"], "salaries paid bonus March") <= {"Holidays"}


def test_a_person_taken_off_a_restriction_loses_the_page_after_the_permission_sync(
    org_a: Organization, connector: Connector, open_workspace: Workspace,
    confluence: ConfluenceLocal, pages: dict[str, Content], people: dict[str, User],
):  # fmt: skip
    ann = people["ann"]
    salaries = Document.objects.get(title="Salaries")
    page = f"/w/{open_workspace.slug}/documents/{salaries.pk}/"
    client = signed_in(org_a, ann)
    assert client.get(page).status_code == 200
    assert "Salaries" in _retrieved_titles(ann, "salaries paid 25th")
    fetched, asked = confluence.fetches(), len(confluence.hits)

    confluence.restrict(pages["salaries"].id, ["cy@alpha.example"], ["payroll"])
    changed = connector_readers_sync(connector_id=connector.pk)

    assert changed == 2  # the page and the bonus page under it
    assert _titles(ann, open_workspace) == {"Holidays"}
    assert "Salaries" not in _retrieved_titles(ann, "salaries paid 25th")
    assert client.get(page).status_code == 404
    assert client.get(f"{page}download/").status_code == 404
    assert _titles(people["cy"], open_workspace) == {"Salaries", "Bonus", "Holidays"}
    assert "Salaries" in _titles(people["bob"], open_workspace)
    # Permissions only: each page's restrictions read, no body and no download.
    bodies = [query for _, path, query in confluence.hits[asked:] if "body.storage" in query]
    assert bodies == [] and confluence.fetches() - fetched == 3
    # The payroll group loses Bob: so does the page.
    confluence.group("payroll", [])
    connector_readers_sync(connector_id=connector.pk)
    assert _titles(people["bob"], open_workspace) == {"Holidays"}


def _connected(owner: User, workspace: Workspace, confluence: ConfluenceLocal) -> Connector:
    connector = confluence_connector_add(
        actor=owner, workspace=workspace, site_url=confluence.url(),
        email="sync@alpha.example", api_token="ATATT-perm", spaces=["HR"],
    )  # fmt: skip
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    assert connector.state == SyncState.IDLE, connector.error
    documents_ingest(document_ids=list(Document.objects.values_list("pk", flat=True)))
    return connector


def test_a_page_is_read_only_by_those_who_may_view_its_space(
    owner_a: User, open_workspace: Workspace, confluence: ConfluenceLocal,
    pages: dict[str, Content], people: dict[str, User],
):  # fmt: skip
    """The space's View permission (Bob, and the hr-staff group: Ann) and the pages' own
    restrictions must both let a person in: Cy, named on the bonus page but not a viewer of
    the space, reads nothing, not even the unrestricted holidays page."""
    confluence.group("hr-staff", ["ann@alpha.example"])
    confluence.space_view("HR", ["bob@alpha.example"], ["hr-staff"])

    connector = _connected(owner_a, open_workspace, confluence)

    assert any(path == "/wiki/rest/api/space/HR" for _, path, _ in confluence.hits)
    assert _titles(people["ann"], open_workspace) == {"Salaries", "Bonus", "Holidays"}
    assert _titles(people["bob"], open_workspace) == {"Salaries", "Holidays"}
    assert _titles(people["cy"], open_workspace) == set()
    assert _retrieved_titles(people["cy"], "office closes public holidays") == set()
    holidays = Document.objects.get(title="Holidays")
    assert holidays.readers_restricted and holidays.reader_emails == ["bob@alpha.example"]
    assert Document.objects.get(title="Salaries").reader_emails == [
        "ann@alpha.example", "bob@alpha.example",
    ]  # fmt: skip

    # Ann leaves the group that may view the space; Cy is given the View permission.
    confluence.group("hr-staff", [])
    confluence.space_view("HR", ["bob@alpha.example", "cy@alpha.example"], ["hr-staff"])
    connector_readers_sync(connector_id=connector.pk)

    assert _titles(people["ann"], open_workspace) == set()
    assert _titles(people["cy"], open_workspace) == {"Holidays"}  # the others restrict him
    assert _titles(people["bob"], open_workspace) == {"Salaries", "Holidays"}


def test_a_space_whose_permissions_the_account_may_not_see_lets_nobody_in(
    owner_a: User, open_workspace: Workspace, confluence: ConfluenceLocal,
    pages: dict[str, Content], people: dict[str, User],
):  # fmt: skip
    """An account that does not administer the space is shown none of its permissions:
    nobody is known to view it, so its pages are read by nobody here (never by everyone)."""
    confluence.permissions_hidden.add("HR")

    _connected(owner_a, open_workspace, confluence)

    for user in (*people.values(), owner_a):
        assert _titles(user, open_workspace) == set()
    assert Document.objects.filter(readers_restricted=True).count() == 3


def test_a_confluence_source_added_without_mirroring_is_read_by_every_reader_of_the_workspace(
    org_a: Organization, owner_a: User, open_workspace: Workspace, confluence: ConfluenceLocal,
    pages: dict[str, Content], people: dict[str, User],
):  # fmt: skip
    confluence.space_view("HR", ["bob@alpha.example"])
    client = signed_in(org_a, owner_a)
    fields = {"site_url": confluence.url(), "email": "sync@alpha.example",
              "api_token": "ATATT-perm", "spaces": "HR"}  # fmt: skip
    page = client.get(f"/w/{open_workspace.slug}/sources/").content.decode()
    assert 'id="id_confluence_mirror_permissions" name="mirror_permissions"' in page

    added = client.post(
        f"/w/{open_workspace.slug}/sources/confluence/", {**fields, "mirror_permissions": "0"}
    )

    assert added.status_code == 302
    connector = Connector.objects.get()
    assert connector.mirror_permissions is False
    connector_sync_run(connector_id=connector.pk)
    assert _titles(people["cy"], open_workspace) == {"Salaries", "Bonus", "Holidays"}
    bad = client.post(
        f"/w/{open_workspace.slug}/sources/confluence/", {**fields, "mirror_permissions": "2"}
    )
    assert bad.status_code == 400
    assert "Choose who reads the pages from the list." in bad.content.decode()
