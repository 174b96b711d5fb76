"""Confluence Cloud through atlassian-python-api, against the local Confluence-format
server (localdev/confluence_server.py): a first sync reads the chosen spaces' pages and
attachments, later ones fetch only what CQL finds modified (and prune what is gone)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from accounts.models import User
from connectors.models import Connector, SyncState
from connectors.services import ConnectorError, confluence_connector_add, connector_sync_request
from connectors.sources import Fetched, ItemRef, Readers
from connectors.sources.confluence import ConfluenceSource
from connectors.sync import connector_sync_run
from localdev.confluence_server import ConfluenceLocal, Content
from tests.conftest import signed_in
from tests.files import docx_file
from workspaces.models import Document, Workspace

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LEAVE = (
    "<p>Employees get <strong>25 days</strong> of paid leave a year.</p>"
    '<ac:structured-macro ac:name="info"><ac:parameter ac:name="title">Note</ac:parameter>'
    "<ac:rich-text-body><p>Unused days carry over until the end of March.</p>"
    "</ac:rich-text-body></ac:structured-macro>"
    "<h2>Requesting leave</h2><ul><li>Ask your manager</li><li>Record it in the HR tool</li></ul>"
    "<table><tbody><tr><th>Years</th><th>Days</th></tr><tr><td>0-5</td><td>25</td></tr>"
    "<tr><td>5+</td><td>28</td></tr></tbody></table>"
)


@pytest.fixture
def confluence() -> Iterator[ConfluenceLocal]:
    local = ConfluenceLocal().start()
    local.account("sync@example.com", "ATATT-good-token")
    yield local
    local.stop()


@pytest.fixture
def wiki(confluence: ConfluenceLocal) -> dict[str, Content]:
    """Two spaces: HR (synced) with two pages and a Word file attached to one of them, and
    ENG (not chosen), whose page the source must not read."""
    confluence.space("HR", "Human Resources")
    confluence.space("ENG", "Engineering")
    leave = confluence.page("HR", "Leave policy", LEAVE)
    travel = confluence.page(
        "HR", "Travel", "<p>Trains are booked in second class for trips under four hours.</p>"
    )
    handbook = confluence.attach(leave.id, "Onboarding.docx", DOCX_BYTES, DOCX)
    confluence.page("ENG", "Deploys", "<p>Not in the synced spaces.</p>")
    for content in confluence.contents.values():
        content.modified -= timedelta(days=3)  # written earlier in the week
    return {"leave": leave, "travel": travel, "onboarding": handbook}


DOCX_BYTES = docx_file(
    lambda d: d.add_paragraph("New starters meet their buddy on the first morning."),
    title="Onboarding",
)


@pytest.fixture
def source(
    owner_a: User, workspace: Workspace, confluence: ConfluenceLocal, wiki: dict[str, Content]
) -> Connector:
    return confluence_connector_add(
        actor=owner_a, workspace=workspace, site_url=confluence.url(),
        email="sync@example.com", api_token="ATATT-good-token", spaces=["HR"],
    )  # fmt: skip


def _sync(connector: Connector) -> Connector:
    if connector.state != SyncState.QUEUED:
        assert connector.created_by is not None
        connector_sync_request(actor=connector.created_by, connector=connector)
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    return connector


def test_first_sync_reads_the_spaces_pages_and_attachments(
    source: Connector, confluence: ConfluenceLocal, workspace: Workspace,
    wiki: dict[str, Content],
):  # fmt: skip
    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.added == 3
    titles = set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))
    assert titles == {"Leave policy", "Travel", "Onboarding"}
    leave = Document.objects.get(title="Leave policy")
    assert leave.source_url == confluence.page_url(wiki["leave"].id)
    text = leave.file.read().decode()
    assert "<strong>25 days</strong>" in text
    assert "Unused days carry over" in text and "ac:" not in text and "Note" not in text
    assert "<th>Years</th>" in text and "<li>Ask your manager</li>" in text
    onboarding = Document.objects.get(title="Onboarding")
    assert onboarding.original_name == "Onboarding.docx"
    assert onboarding.file.read() == DOCX_BYTES
    assert connector.cursor  # when this sync began, for the next one's CQL


def test_the_next_sync_fetches_only_what_changed_and_prunes_what_is_gone(
    source: Connector, confluence: ConfluenceLocal, workspace: Workspace,
    wiki: dict[str, Content],
):  # fmt: skip
    _sync(source)
    fetched = confluence.fetches()
    confluence.edit(wiki["leave"].id, body="<p>Employees get 27 days of paid leave a year.</p>")
    confluence.delete(wiki["travel"].id)
    confluence.page("HR", "Security", "<p>Laptops lock after five minutes.</p>")
    # The account's time zone far behind UTC: CQL reads dates in it.
    confluence.time_zone_hours = -12

    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert (connector.added, connector.updated, connector.removed) == (1, 1, 1)
    # The changed page and the new one; the attachment and the deleted page are not read.
    assert confluence.fetches() == fetched + 2
    cql = [query for _, path, query in confluence.hits if path.endswith("/content/search")]
    assert "lastmodified" in cql[-1]
    titles = set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))
    assert titles == {"Leave policy", "Security", "Onboarding"}
    leave = Document.objects.get(title="Leave policy")
    assert leave.version == 2 and "27 days" in leave.file.read().decode()


def test_a_sync_without_changes_fetches_nothing(
    source: Connector, confluence: ConfluenceLocal, workspace: Workspace
):
    _sync(source)
    fetched = confluence.fetches()
    confluence.time_zone_hours = 14

    connector = _sync(source)

    assert (connector.added, connector.updated, connector.removed) == (0, 0, 0)
    assert confluence.fetches() == fetched
    assert Document.objects.filter(workspace=workspace).count() == 3


def test_rate_limited_page_waits_out_retry_after_then_resumes(
    source: Connector, confluence: ConfluenceLocal, wiki: dict[str, Content]
):
    confluence.rate_limit(f"/content/{wiki['travel'].id}", retry_after=7)

    first = connector_sync_run(connector_id=source.pk)
    second = connector_sync_run(connector_id=source.pk)

    source.refresh_from_db()
    assert (first.state, first.retry_after) == (SyncState.WAITING, 7)
    assert second.state == SyncState.IDLE
    assert source.added == 3


def test_a_token_confluence_refuses_shows_the_reason_on_the_sources_page(
    org_a, owner_a: User, workspace: Workspace, confluence: ConfluenceLocal,
    wiki: dict[str, Content],
):  # fmt: skip
    client = signed_in(org_a, owner_a)
    added = client.post(
        f"/w/{workspace.slug}/sources/confluence/",
        {"site_url": confluence.url(), "email": "sync@example.com", "api_token": "expired",
         "spaces": "HR"},
    )  # fmt: skip
    connector = Connector.objects.get()

    connector_sync_run(connector_id=connector.pk)

    assert added.status_code == 302
    assert "expired" not in connector.credentials_encrypted
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    assert "Confluence refused the email and API token" in page
    assert f"{confluence.url()} · space HR" in page


def test_the_add_form_refuses_bad_input_with_a_sentence(
    org_a, owner_a: User, workspace: Workspace, confluence: ConfluenceLocal
):
    client = signed_in(org_a, owner_a)
    url = f"/w/{workspace.slug}/sources/confluence/"
    fields = {"site_url": confluence.url(), "email": "sync@example.com", "api_token": "t"}

    no_space = client.post(url, {**fields, "spaces": " , "})
    odd_space = client.post(url, {**fields, "spaces": "HR, two words"})
    no_email = client.post(url, {**fields, "email": "", "spaces": "HR"})

    assert no_space.status_code == odd_space.status_code == no_email.status_code == 400
    assert "Name at least one space" in no_space.content.decode()
    assert "“two words” is not a space key" in odd_space.content.decode()
    assert "Give the email of the Atlassian account" in no_email.content.decode()
    assert not Connector.objects.exists()


def test_a_private_site_address_is_refused(owner_a: User, workspace: Workspace, settings):
    settings.CONNECTOR_ALLOWED_PRIVATE_NETWORKS = []

    with pytest.raises(ConnectorError, match="private or local address"):
        confluence_connector_add(
            actor=owner_a, workspace=workspace, site_url="http://10.0.0.5",
            email="a@example.com", api_token="t", spaces=["HR"],
        )  # fmt: skip


def test_page_restrictions_become_the_documents_readers(
    owner_a: User, workspace: Workspace, confluence: ConfluenceLocal, wiki: dict[str, Content]
):
    """What the source reports: a page's read restriction (people by email, groups by id,
    their members), a child page under it restricted by both levels, the page's attachment
    by its page, and an unrestricted page restricted by nothing beyond the workspace."""
    hr = confluence.group("hr-team", ["hana@example.com", "hidden@example.com"])
    confluence.hidden_emails.add("hidden@example.com")
    confluence.restrict(wiki["leave"].id, ["ann@example.com", "bob@example.com"], ["hr-team"])
    child = confluence.page("HR", "Leave for managers", "<p>Managers approve.</p>",
                            parent=wiki["leave"].id)  # fmt: skip
    confluence.restrict(child.id, ["bob@example.com", "carl@example.com"], ["hr-team"])
    source = ConfluenceSource(
        site_url=confluence.url(), email="sync@example.com", api_token="ATATT-good-token",
        spaces=["HR"], cursor="",
    )  # fmt: skip
    refs = {key: ItemRef(content.id, "") for key, content in wiki.items()}

    leave = source.fetch(refs["leave"], etag="", last_modified="")
    attachment = source.fetch(refs["onboarding"], etag="", last_modified="")
    listing = source.readers([*refs.values(), ItemRef(child.id, "")], cursor="")

    assert isinstance(leave, Fetched) and isinstance(attachment, Fetched)
    assert (
        leave.readers
        == attachment.readers
        == Readers(emails=frozenset({"ann@example.com", "bob@example.com"}), groups=frozenset({hr}))
    )
    # Both levels must allow: only who both name.
    assert listing.readers[child.id] == Readers(
        emails=frozenset({"bob@example.com"}), groups=frozenset({hr})
    )
    assert listing.readers[wiki["travel"].id] == Readers(public=True)
    assert source.group_members(hr) == ["hana@example.com"]
    assert source.group_members("no-such-group") is None
