from django.contrib.auth.models import Group

from accounts.models import Role, User
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import upload
from workspaces.ingestion.pipeline import document_ingest
from workspaces.models import Document, Workspace, WorkspaceRole
from workspaces.selectors import workspace_list_readable
from workspaces.services import document_upload, grant_set

MARKDOWN = b"# Leave\n\n## Vacation\n\nEveryone gets 25 vacation days a year.\n"


def ready_document(workspace: Workspace, owner: User) -> Document:
    document = document_upload(
        actor=owner, workspace=workspace, upload=upload("leave.md", MARKDOWN)
    )
    return document_ingest(document_id=document.pk)


def test_member_without_a_grant_gets_404_for_workspace_document_and_file(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ready_document(workspace, owner_a)
    outsider = make_member(role=Role.MEMBER)
    client = signed_in(org_a, outsider)
    base = f"/w/{workspace.slug}"

    assert client.get(f"{base}/").status_code == 404
    assert client.get(f"{base}/documents/{document.pk}/").status_code == 404
    assert client.get(f"{base}/documents/{document.pk}/download/").status_code == 404
    assert client.get(f"{base}/documents/{document.pk}/row/").status_code == 404
    assert f"/w/{workspace.slug}/" not in client.get("/").content.decode()
    assert list(workspace_list_readable(user=outsider)) == []


def test_viewer_reads_but_cannot_upload(org_a: Organization, owner_a: User, workspace: Workspace):
    viewer = make_member(role=Role.MEMBER)
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=viewer)
    client = signed_in(org_a, viewer)

    page = client.get(f"/w/{workspace.slug}/")
    response = client.post(f"/w/{workspace.slug}/upload/", {"files": [upload("x.md", MARKDOWN)]})

    assert page.status_code == 200
    assert b"Drop files or a folder here" not in page.content
    assert b"You need the editor role" in response.content
    assert not Document.objects.exists()


def test_editor_uploads_through_the_page(org_a: Organization, owner_a: User, workspace: Workspace):
    editor = make_member(role=Role.MEMBER)
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.EDITOR, grantee=editor)

    response = signed_in(org_a, editor).post(
        f"/w/{workspace.slug}/upload/",
        {"files": [upload("leave.md", MARKDOWN), upload("faq.txt", b"Q: Parking? A: Level -2.")]},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert b"Leave" in response.content and b"Faq" in response.content
    assert b'hx-trigger="every 1s"' in response.content  # queued rows poll for progress
    assert Document.objects.filter(uploaded_by=editor).count() == 2


def test_group_grant_gives_access_and_leaving_the_group_takes_it_away(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    support = Group.objects.create(name="Support")
    agent = make_member(role=Role.MEMBER)
    agent.groups.add(support)
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=support)
    client = signed_in(org_a, agent)

    assert client.get(f"/w/{workspace.slug}/").status_code == 200
    agent.groups.remove(support)
    assert client.get(f"/w/{workspace.slug}/").status_code == 404


def test_open_workspace_is_readable_by_every_member(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    workspace.is_open = True
    workspace.save()
    member = make_member(role=Role.MEMBER)

    response = signed_in(org_a, member).get(f"/w/{workspace.slug}/")

    assert response.status_code == 200
    assert b"viewer" in response.content


def test_admins_see_restricted_workspaces(org_a: Organization, workspace: Workspace):
    admin = make_member(role=Role.ADMIN)

    assert signed_in(org_a, admin).get(f"/w/{workspace.slug}/").status_code == 200


def test_manager_grants_access_by_email_on_the_access_page(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    colleague = make_member(email="colleague@example.com")
    client = signed_in(org_a, owner_a)

    client.post(
        f"/w/{workspace.slug}/access/grants/",
        {"principal": "Colleague@Example.com", "role": "editor"},
    )

    page = signed_in(org_a, colleague).get(f"/w/{workspace.slug}/")
    assert page.status_code == 200
    # An editor's upload zone, not a viewer's page.
    assert b"Drop files or a folder here" in page.content


def test_members_cannot_create_workspaces(org_a: Organization):
    member = make_member(role=Role.MEMBER)

    response = signed_in(org_a, member).post(
        "/workspaces/new/", {"name": "Mine", "language": "english"}
    )

    assert b"Only owners and admins can create workspaces." in response.content
    assert not Workspace.objects.filter(name="Mine").exists()
