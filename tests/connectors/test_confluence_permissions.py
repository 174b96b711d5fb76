"""Confluence's page restrictions as readers (issue 27), against the local Confluence-format
server: a restricted page is read only by the people and groups it names; a person taken
off the restriction in Confluence loses the page here at the next permission-only sync,
which reads no content."""

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
