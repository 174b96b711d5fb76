"""The access & settings page, one endpoint per action: settings, grant, remove a grant;
and the document actions (replace, retry, delete) of the document page."""

from bs4 import BeautifulSoup

from accounts.models import Role, User
from members.actions.groups import group_create
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import upload
from workspaces.ingestion.pipeline import document_ingest
from workspaces.models import Document, DocumentStatus, Workspace, WorkspaceGrant, WorkspaceRole
from workspaces.services import document_upload, grant_set


def test_manager_renames_and_opens_the_workspace_and_everyone_reads_it(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    manager, colleague = make_member(), make_member()
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.MANAGER, grantee=manager)
    assert signed_in(org_a, colleague).get(f"/w/{workspace.slug}/").status_code == 404

    response = signed_in(org_a, manager).post(
        f"/w/{workspace.slug}/access/settings/",
        {"name": "People handbook", "description": "HR", "is_open": "on"},
        follow=True,
    )

    assert "Saved." in response.content.decode()
    assert (
        "People handbook"
        in signed_in(org_a, colleague).get(f"/w/{workspace.slug}/").content.decode()
    )


def test_removing_a_grant_takes_the_workspace_away(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    colleague = make_member()
    grant = grant_set(
        actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=colleague
    )
    assert signed_in(org_a, colleague).get(f"/w/{workspace.slug}/").status_code == 200

    signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/access/grants/{grant.pk}/remove/")

    assert signed_in(org_a, colleague).get(f"/w/{workspace.slug}/").status_code == 404


def test_granting_to_nobody_says_so_and_grants_nothing(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/access/grants/", {"principal": "ghost@example.com", "role": "viewer"}
    )

    assert "No member or group called “ghost@example.com”." in response.content.decode()
    assert not WorkspaceGrant.objects.filter(workspace=workspace).exists()


def test_editors_and_viewers_get_404_for_every_access_action(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    editor, viewer = make_member(), make_member(role=Role.BILLING_ADMIN)
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.EDITOR, grantee=editor)
    grant = grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=viewer)
    base = f"/w/{workspace.slug}/access"

    for person in (editor, viewer):
        client = signed_in(org_a, person)
        assert client.get(f"{base}/").status_code == 404
        assert client.post(f"{base}/settings/", {"name": "Mine"}).status_code == 404
        assert (
            client.post(
                f"{base}/grants/", {"principal": person.email, "role": "manager"}
            ).status_code
            == 404
        )
        assert client.post(f"{base}/grants/{grant.pk}/remove/").status_code == 404
    workspace.refresh_from_db()
    assert workspace.name == "Handbook"
    assert WorkspaceGrant.objects.get(pk=grant.pk).role == WorkspaceRole.VIEWER


def test_editor_replaces_retries_and_deletes_a_document(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    editor = make_member()
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.EDITOR, grantee=editor)
    document = document_upload(
        actor=owner_a, workspace=workspace, upload=upload("leave.md", b"# Leave\n\n25 days.\n")
    )
    document_ingest(document_id=document.pk)
    client = signed_in(org_a, editor)
    base = f"/w/{workspace.slug}/documents/{document.pk}"

    replaced = client.post(
        f"{base}/replace/", {"file": upload("leave.md", b"# Leave\n\n30 days.\n")}
    )
    document.refresh_from_db()
    assert replaced["HX-Redirect"] == f"{base}/"
    assert (document.version, document.status) == (2, DocumentStatus.QUEUED)

    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.FAILED, error="Broken")
    client.post(f"{base}/retry/")
    document.refresh_from_db()
    assert (document.status, document.error) == (DocumentStatus.QUEUED, "")

    deleted = client.post(f"{base}/delete/")
    assert deleted["HX-Redirect"] == f"/w/{workspace.slug}/"
    assert not Document.objects.filter(pk=document.pk).exists()


def test_grant_picker_suggests_members_by_name_and_email_and_groups(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    colleague = make_member(email="dana.kim@example.com", full_name="Dana Kim")
    removed = make_member(email="gone@example.com", is_active=False)
    group = group_create(actor=owner_a, name="Support team")

    page = BeautifulSoup(
        signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/access/").content, "html.parser"
    )

    picker = page.find("input", attrs={"name": "principal"})
    assert picker is not None
    suggestions = {
        option["value"]: option.get("label")
        for option in page.select(f"datalist#{picker['list']} option")
    }
    assert suggestions[colleague.email] == "Dana Kim"
    assert suggestions[group.name] == "Group"
    assert removed.email not in suggestions
