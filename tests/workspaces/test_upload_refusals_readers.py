"""An upload's refusals and offers name only documents the uploader may read: a document
its source keeps to other readers is neither named as holding the same content nor offered
as the earlier version of a file of the same name."""

from django_tenants.utils import tenant_context

from accounts.models import User
from tenants.models import Organization
from tests.conftest import signed_in
from tests.files import upload
from workspaces.models import Document, Workspace
from workspaces.readers import DocumentReaders, document_readers_set

SALARIES = b"# Salary bands permfix\n\nA senior engineer earns 98,000 euros.\n"


def test_an_upload_names_no_document_its_readers_keep_from_the_uploader(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    client = signed_in(org_a, owner_a)
    client.post(f"/w/{workspace.slug}/upload/", {"files": [upload("salary-bands.md", SALARIES)]})
    with tenant_context(org_a):
        document = Document.objects.get(workspace=workspace)
        document_readers_set(
            document=document,
            readers=DocumentReaders(restricted=True, emails=frozenset(["hr@permfix.example"])),
        )

    same = client.post(f"/w/{workspace.slug}/upload/", {"files": [upload("copy.md", SALARIES)]})
    renamed = client.post(
        f"/w/{workspace.slug}/upload/",
        {"files": [upload("Salary-bands.md", SALARIES + b"\nJuniors earn less.\n")]},
    )

    refused = same.content.decode()
    assert "“copy.md” has the same content as a document already here." in refused
    assert "Salary bands" not in refused
    offered = renamed.content.decode()
    assert 'data-testid="new-version"' not in offered
    assert "looks like a new version of" not in offered
