"""Workspace -> Sources as a person meets it: owners and admins only (404 for anyone
else), CSRF-checked, refusals as sentences, every change audited."""

from django.test import Client

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from connectors.models import Connector, Schedule, SyncState
from connectors.sync import connector_sync_run
from localdev.website_server import WebsiteLocal
from tenants.models import Organization
from tests.conftest import client_for, signed_in
from tests.factories import make_member
from workspaces.models import Document, Workspace, WorkspaceRole
from workspaces.services import grant_set


def test_owner_adds_a_website_and_sees_it_listed(
    org_a: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal
):
    client = signed_in(org_a, owner_a)

    response = client.post(
        f"/w/{workspace.slug}/sources/website/",
        {"start_url": site.url("/help/"), "schedule": Schedule.WEEKLY},
    )

    assert response.status_code == 302
    connector = Connector.objects.get()
    assert (connector.schedule, connector.state) == (Schedule.WEEKLY, SyncState.QUEUED)
    assert AuditEvent.objects.filter(action=AuditAction.SOURCE_ADDED).count() == 1
    page = client.get(f"/w/{workspace.slug}/sources/").content.decode()
    assert "127.0.0.1" in page and "Queued" in page
    assert f"/w/{workspace.slug}/sources/" in client.get(f"/w/{workspace.slug}/").content.decode()


def test_a_bad_address_is_a_400_with_a_sentence(
    org_a: Organization, owner_a: User, workspace: Workspace, settings
):
    client = signed_in(org_a, owner_a)
    settings.CONNECTOR_ALLOWED_PRIVATE_NETWORKS = []

    not_url = client.post(f"/w/{workspace.slug}/sources/website/", {"start_url": "not a url"})
    private = client.post(
        f"/w/{workspace.slug}/sources/website/", {"start_url": "http://10.0.0.5/wiki/"}
    )
    schedule = client.post(
        f"/w/{workspace.slug}/sources/website/",
        {"start_url": "https://example.com/", "schedule": "often"},
    )

    assert not_url.status_code == private.status_code == schedule.status_code == 400
    assert "Give a web address such as" in not_url.content.decode()
    assert "private or local address (10.0.0.5)" in private.content.decode()
    assert "Choose how often to sync" in schedule.content.decode()
    assert not Connector.objects.exists()


def test_members_and_workspace_managers_get_404(
    org_a: Organization, owner_a: User, workspace: Workspace, website: Connector
):
    manager = make_member(email="manager@alpha.example", role=Role.MEMBER)
    grant_set(actor=owner_a, workspace=workspace, grantee=manager, role=WorkspaceRole.MANAGER)
    client = signed_in(org_a, manager)

    paths = [f"/w/{workspace.slug}/sources/", f"/w/{workspace.slug}/sources/{website.pk}/"]
    posts = [f"/w/{workspace.slug}/sources/website/",
             f"/w/{workspace.slug}/sources/{website.pk}/sync/",
             f"/w/{workspace.slug}/sources/{website.pk}/remove/"]  # fmt: skip

    assert [client.get(path).status_code for path in paths] == [404, 404]
    assert [client.post(path).status_code for path in posts] == [404, 404, 404]
    assert Connector.objects.filter(pk=website.pk).exists()
    assert client_for(org_a).get(paths[0]).status_code == 302  # signed out: to sign in


def test_admin_may_manage_sources(org_a: Organization, workspace: Workspace, website: Connector):
    admin = make_member(email="admin@alpha.example", role=Role.ADMIN)

    response = signed_in(org_a, admin).get(f"/w/{workspace.slug}/sources/")

    assert response.status_code == 200


def test_posts_without_the_csrf_token_are_refused(
    org_a: Organization, owner_a: User, workspace: Workspace, website: Connector
):
    client = Client(HTTP_HOST=f"{org_a.slug}.localhost", enforce_csrf_checks=True)
    client.force_login(owner_a)

    response = client.post(f"/w/{workspace.slug}/sources/{website.pk}/remove/")

    assert response.status_code == 403
    assert Connector.objects.filter(pk=website.pk).exists()


def test_sync_now_pause_and_remove_with_documents(
    org_a: Organization, owner_a: User, workspace: Workspace, website: Connector
):
    connector_sync_run(connector_id=website.pk)
    client = signed_in(org_a, owner_a)
    base = f"/w/{workspace.slug}/sources/{website.pk}"

    client.post(f"{base}/sync/")
    website.refresh_from_db()
    assert website.state == SyncState.QUEUED
    again = client.post(f"{base}/sync/", follow=True).content.decode()
    assert "This source is syncing already." in again
    connector_sync_run(connector_id=website.pk)

    client.post(f"{base}/settings/", {"schedule": Schedule.WEEKLY, "paused": "on"})
    website.refresh_from_db()
    assert (website.schedule, website.paused) == (Schedule.WEEKLY, True)
    paused = client.post(f"{base}/sync/", follow=True).content.decode()
    assert "This source is paused; resume it to sync." in paused

    synced = Document.objects.filter(workspace=workspace).count()
    removed = client.post(f"{base}/remove/", {"documents_too": "on"}, follow=True)

    ending = f"and the {synced} document{'' if synced == 1 else 's'} it synced."
    assert ending in removed.content.decode()
    assert not Connector.objects.exists()
    assert not Document.objects.filter(workspace=workspace).exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="source.")] == [
        AuditAction.SOURCE_REMOVED, AuditAction.SOURCE_CHANGED,
        AuditAction.SOURCE_SYNC_REQUESTED, AuditAction.SOURCE_ADDED,
    ]  # fmt: skip


def test_removing_a_source_may_keep_its_documents(
    org_a: Organization, owner_a: User, workspace: Workspace, website: Connector
):
    connector_sync_run(connector_id=website.pk)

    signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/sources/{website.pk}/remove/")

    assert not Connector.objects.exists()
    assert Document.objects.filter(workspace=workspace).count() == 4


def test_the_documents_list_and_the_card_show_the_source(
    org_a: Organization, owner_a: User, workspace: Workspace, website: Connector,
    site: WebsiteLocal,
):  # fmt: skip
    connector_sync_run(connector_id=website.pk)
    client = signed_in(org_a, owner_a)

    documents = client.get(f"/w/{workspace.slug}/").content.decode()
    card = client.get(f"/w/{workspace.slug}/sources/{website.pk}/").content.decode()

    assert f'href="{site.url("/help/leave.html")}"' in documents
    assert "4 added, 0 updated, 0 unchanged, 0 removed, 0 failed" in card
    assert "4 documents from this source" in card
