from django.core.files.base import ContentFile

from accounts.models import User
from audit.models import AuditAction, AuditEvent
from connectors.models import Connector, ConnectorItem, ItemState, SyncState
from connectors.sync import connector_sync_run
from localdev.website_server import WebsiteLocal
from tests.connectors.conftest import LEAVE
from tests.factories import make_member
from workspaces.models import Document, Workspace, WorkspaceRole
from workspaces.selectors import document_list
from workspaces.services import document_upload, grant_set


def _sync(connector: Connector) -> Connector:
    connector_sync_run(connector_id=connector.pk)
    connector.refresh_from_db()
    return connector


def _urls(workspace: Workspace) -> set[str]:
    return set(Document.objects.filter(workspace=workspace).values_list("source_url", flat=True))


def test_first_sync_adds_the_pages_within_the_prefix_that_robots_allow(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    connector = _sync(website)

    assert connector.state == SyncState.IDLE, connector.error
    assert _urls(workspace) == {
        site.url("/help/"), site.url("/help/leave.html"), site.url("/help/expenses.html"),
        site.url("/help/security.html"),
    }  # fmt: skip
    assert (connector.added, connector.failed, connector.removed) == (4, 0, 0)
    assert site.fetched("/help/drafts/secret.html") == 0
    assert site.fetched("/blog/news.html") == 0
    assert site.fetched("/help/logo.png") == 0
    leave = Document.objects.get(source_url=site.url("/help/leave.html"))
    assert leave.title == "Leave policy"
    text = leave.file.read().decode()
    assert "25 days of paid leave" in text
    assert "Privacy · Contact" not in text  # the footer is left out
    assert connector.next_sync_at is not None and connector.last_synced_at is not None


def test_a_websites_pages_are_public_read_by_whoever_reads_the_workspace(
    website: Connector, workspace: Workspace, owner_a: User
):
    """A website has no permissions to mirror: its documents carry no readers, whatever the
    connector's setting, and the workspace's grants alone decide."""
    assert website.mirror_permissions
    _sync(website)

    synced = Document.objects.filter(workspace=workspace)
    assert synced.count() == 4
    assert not synced.filter(readers_restricted=True).exists()
    viewer = make_member()
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=viewer)
    assert document_list(user=viewer, workspace=workspace).count() == 4


def test_second_sync_fetches_unchanged_pages_as_304_and_adds_nothing(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    _sync(website)
    documents = list(Document.objects.filter(workspace=workspace).values_list("pk", "version"))
    connector_sync_run_again = _requested(website)

    connector = _sync(connector_sync_run_again)

    assert (connector.added, connector.updated, connector.unchanged) == (0, 0, 4)
    assert site.fetched("/help/leave.html", 304) == 1
    assert list(Document.objects.filter(workspace=workspace).values_list("pk", "version")) == (
        documents
    )


def test_a_changed_page_replaces_its_document_and_a_removed_one_is_deleted(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    _sync(website)
    leave = Document.objects.get(source_url=site.url("/help/leave.html"))
    site.html("/help/leave.html", "Leave policy", LEAVE + "<p>Sabbaticals: three months.</p>")
    site.remove("/help/security.html")

    connector = _sync(_requested(website))

    assert (connector.added, connector.updated, connector.removed) == (0, 1, 1)
    assert (connector.unchanged, connector.failed) == (2, 0)
    leave.refresh_from_db()
    assert leave.version == 2
    assert "Sabbaticals" in leave.file.read().decode()
    assert site.url("/help/security.html") not in _urls(workspace)
    assert AuditEvent.objects.filter(
        action=AuditAction.DOCUMENT_DELETED, target_label="Security policy"
    ).exists()


def test_a_page_no_longer_linked_is_pruned_once_the_listing_is_complete(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    _sync(website)
    site.html("/help/", "Help centre", "<p>Leave only now, after a reorganisation.</p>",
              ("/help/leave.html",))  # fmt: skip

    connector = _sync(_requested(website))

    assert connector.listing_complete
    assert _urls(workspace) == {site.url("/help/"), site.url("/help/leave.html")}
    assert connector.removed == 2


def test_a_page_that_fails_keeps_its_document_and_what_it_links_to(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    _sync(website)
    site.fail("/help/", 503)

    connector = _sync(_requested(website))

    assert connector.failed == 1
    item = ConnectorItem.objects.get(connector=connector, source_id=site.url("/help/"))
    assert (item.state, item.error) == (ItemState.FAILED, "The page answered 503.")
    # The index could not be read, so its links were taken from the last sync: nothing it
    # leads to was pruned, and its own document is still there.
    assert len(_urls(workspace)) == 4
    assert connector.removed == 0


def test_sitemap_lists_the_pages_and_a_missing_part_prevents_pruning(
    owner_a: User, workspace: Workspace, site: WebsiteLocal
):
    from connectors.services import website_connector_add

    site.page("/sitemap.xml", _sitemap_index(site, ["/sitemap-a.xml", "/sitemap-b.xml"]),
              "application/xml")  # fmt: skip
    site.page("/sitemap-a.xml", _urlset(site, ["/help/leave.html", "/help/expenses.html"]),
              "application/xml")  # fmt: skip
    site.page("/sitemap-b.xml", _urlset(site, ["/help/security.html"]), "application/xml")
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/sitemap.xml"),
        prefix=site.url("/help/"),
    )  # fmt: skip
    connector = _sync(connector)
    assert connector.added == 3 and connector.listing_complete
    assert site.fetched("/help/") == 0  # a sitemap's pages' links are not followed
    site.fail("/sitemap-b.xml", 500)

    connector = _sync(_requested(connector))

    assert not connector.listing_complete
    assert connector.removed == 0
    assert site.url("/help/security.html") in _urls(workspace)


def test_an_item_whose_content_is_already_a_document_fails_with_the_reason(
    website: Connector, site: WebsiteLocal, workspace: Workspace, owner_a: User
):
    site.html("/help/expenses.html", "Leave policy", LEAVE, ("/help/",))  # a copy

    connector = _sync(website)

    assert connector.failed == 1
    failed = ConnectorItem.objects.get(connector=connector, state=ItemState.FAILED)
    assert "has the same content as" in failed.error
    assert connector.added == 3


def test_a_document_a_person_uploaded_is_never_pruned(
    website: Connector, site: WebsiteLocal, workspace: Workspace, owner_a: User
):
    upload = ContentFile(b"# Notes\n\nA person's own notes about the office.", name="notes.md")
    document_upload(actor=owner_a, workspace=workspace, upload=upload)
    _sync(website)
    site.remove("/help/")

    _sync(_requested(website))

    assert Document.objects.filter(workspace=workspace, original_name="notes.md").exists()


def _requested(connector: Connector) -> Connector:
    """As "Sync now" leaves it: queued (the service under test's own transaction queues
    the task only on commit, which a test's transaction never reaches)."""
    from connectors.services import connector_sync_request

    assert connector.created_by is not None
    return connector_sync_request(actor=connector.created_by, connector=connector)


def _urlset(site: WebsiteLocal, paths: list[str]) -> str:
    urls = "".join(f"<url><loc>{site.url(path)}</loc></url>" for path in paths)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def _sitemap_index(site: WebsiteLocal, paths: list[str]) -> str:
    maps = "".join(f"<sitemap><loc>{site.url(path)}</loc></sitemap>" for path in paths)
    return (
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>'
    )
