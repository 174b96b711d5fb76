"""Notion through notion-client, against the local Notion-format server
(localdev/notion_server.py): a first sync reads every page shared with the integration,
later ones fetch only the pages edited since (and prune what is gone or no longer shared)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from accounts.models import User
from connectors.models import Connector, SyncState
from connectors.services import ConnectorError, connector_sync_request, notion_connector_add
from connectors.sync import connector_sync_run
from localdev.notion_server import NotionLocal, NotionPage, block, rich_text
from tests.conftest import signed_in
from workspaces.models import Document, Workspace

TOKEN = "ntn_local_integration_secret"


@pytest.fixture
def notion(settings) -> Iterator[NotionLocal]:
    local = NotionLocal().start()
    local.integration(TOKEN)
    settings.NOTION_API_URL = local.url()
    yield local
    local.stop()


@pytest.fixture
def wiki(notion: NotionLocal) -> dict[str, NotionPage]:
    """A leave policy with headings, a nested list, a to-do and a table; a travel page; a
    row of an FAQ database with its properties; and a page not shared with the integration."""
    leave = notion.page("Leave policy", [
        block("heading_1", "Annual leave"),
        block("paragraph", "Employees get 25 days of paid leave a year."),
        block("bulleted_list_item", "Ask your manager", children=[
            block("bulleted_list_item", "at least two weeks ahead"),
        ]),
        block("bulleted_list_item", "Record it in the HR tool"),
        block("to_do", "Read the sabbatical rules", checked=True),
        block("table", table_width=2, has_column_header=True, has_row_header=False, children=[
            block("table_row", cells=[rich_text("Years"), rich_text("Days")]),
            block("table_row", cells=[rich_text("0-5"), rich_text("25")]),
            block("table_row", cells=[rich_text("5+"), rich_text("28")]),
        ]),
        block("image"),
    ])  # fmt: skip
    travel = notion.page("Travel", [
        block("paragraph", "Trains are booked in second class for trips under four hours."),
    ])  # fmt: skip
    faq = notion.page(
        "Can I work abroad?",
        [block("paragraph", "Up to four weeks a year, from the EU.")],
        database_id="faq-database",
        properties={"Topic": {"id": "a", "type": "select", "select": {"name": "Remote work"}}},
    )
    secret = notion.page("Salaries", [block("paragraph", "Not shared with the integration.")])
    secret.shared = False
    for page in notion.pages.values():
        page.edited -= timedelta(days=3)  # written earlier in the week
    return {"leave": leave, "travel": travel, "faq": faq}


@pytest.fixture
def source(
    owner_a: User, workspace: Workspace, notion: NotionLocal, wiki: dict[str, NotionPage]
) -> Connector:
    return notion_connector_add(actor=owner_a, workspace=workspace, token=TOKEN)


def _sync(connector: Connector) -> Connector:
    if connector.state != SyncState.QUEUED:
        assert connector.created_by is not None
        connector_sync_request(actor=connector.created_by, connector=connector)
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    return connector


def test_first_sync_turns_every_shared_page_into_a_document(
    source: Connector, notion: NotionLocal, workspace: Workspace, wiki: dict[str, NotionPage]
):
    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert connector.added == 3
    titles = set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))
    assert titles == {"Leave policy", "Travel", "Can I work abroad?"}
    leave = Document.objects.get(title="Leave policy")
    assert leave.source_url == notion.page_url(wiki["leave"].id)
    text = leave.file.read().decode()
    assert "<h2>Annual leave</h2><p>Employees get 25 days of paid leave a year.</p>" in text
    assert "<ul><li>Ask your manager<ul><li>at least two weeks ahead</li></ul></li>" in text
    assert "<li>☑ Read the sabbatical rules</li>" in text
    assert "<tr><th>Years</th><th>Days</th></tr><tr><td>0-5</td><td>25</td></tr>" in text
    faq = Document.objects.get(title="Can I work abroad?").file.read().decode()
    assert "<tr><th>Topic</th><td>Remote work</td></tr>" in faq


def test_the_next_sync_fetches_only_edited_pages_and_prunes_what_is_gone(
    source: Connector, notion: NotionLocal, workspace: Workspace, wiki: dict[str, NotionPage]
):
    _sync(source)
    fetched = notion.fetched_pages()
    notion.edit(wiki["leave"].id, [block("paragraph", "Employees get 27 days of leave a year.")])
    notion.trash(wiki["travel"].id)
    wiki["faq"].shared = False  # the database no longer shared with the integration
    notion.page("Security", [block("paragraph", "Laptops lock after five minutes.")])

    connector = _sync(source)

    assert connector.state == SyncState.IDLE, connector.error
    assert (connector.added, connector.updated, connector.removed) == (1, 1, 2)
    assert notion.fetched_pages() == fetched + 2
    titles = set(Document.objects.filter(workspace=workspace).values_list("title", flat=True))
    assert titles == {"Leave policy", "Security"}
    leave = Document.objects.get(title="Leave policy")
    assert leave.version == 2 and "27 days" in leave.file.read().decode()


def test_a_sync_without_edits_reads_no_page(source: Connector, notion: NotionLocal):
    _sync(source)
    fetched = notion.fetched_pages()

    connector = _sync(source)

    assert (connector.added, connector.updated, connector.removed) == (0, 0, 0)
    assert notion.fetched_pages() == fetched


def test_rate_limited_blocks_wait_out_retry_after_then_resume(
    source: Connector, notion: NotionLocal, wiki: dict[str, NotionPage]
):
    notion.rate_limit(f"/blocks/{wiki['travel'].id}/children", retry_after=9)

    first = connector_sync_run(connector_id=source.pk)
    second = connector_sync_run(connector_id=source.pk)

    source.refresh_from_db()
    assert (first.state, first.retry_after) == (SyncState.WAITING, 9)
    assert second.state == SyncState.IDLE
    assert source.added == 3


def test_a_token_notion_refuses_shows_the_reason_on_the_sources_page(
    org_a, owner_a: User, workspace: Workspace, notion: NotionLocal
):
    client = signed_in(org_a, owner_a)
    empty = client.post(f"/w/{workspace.slug}/sources/notion/", {"token": ""})
    added = client.post(f"/w/{workspace.slug}/sources/notion/", {"token": "ntn_revoked"})
    connector = Connector.objects.get()

    connector_sync_run(connector_id=connector.pk)

    assert empty.status_code == 400
    assert "Paste the integration&#x27;s secret" in empty.content.decode()
    assert added.status_code == 302
    assert "ntn_revoked" not in connector.credentials_encrypted
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    assert "Notion refused the integration token" in page
    assert "Every page and database shared with the integration" in page


def test_a_blank_token_is_refused(owner_a: User, workspace: Workspace):
    with pytest.raises(ConnectorError, match="Paste the integration's secret"):
        notion_connector_add(actor=owner_a, workspace=workspace, token="  ")
