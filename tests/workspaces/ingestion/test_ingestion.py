from django.core.management import call_command
from django.test import Client

from accounts.models import User
from tenants.models import Organization
from tests.conftest import signed_in
from tests.files import sample, upload
from workspaces.ingestion.pipeline import document_ingest
from workspaces.models import Chunk, Document, DocumentStatus, Workspace
from workspaces.services import document_replace, document_upload

HANDBOOK = b"""# Handbook

## Time off

### Vacation

Full-time employees get 25 vacation days a year. Unused days carry over until 31 March.

### Sick leave

Tell your manager before 10:00 on the first day.
"""


def ingest(workspace: Workspace, owner: User, name: str, data: bytes) -> Document:
    document = document_upload(actor=owner, workspace=workspace, upload=upload(name, data))
    return document_ingest(document_id=document.pk)


def test_markdown_becomes_ready_chunks_with_heading_paths_vectors_and_search(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)

    document.refresh_from_db()
    chunks = list(Chunk.objects.filter(document=document))
    assert document.status == DocumentStatus.READY
    assert document.chunks_done == document.chunks_total == len(chunks) >= 2
    vacation = next(chunk for chunk in chunks if "25 vacation days" in chunk.text)
    assert vacation.heading_path == "Handbook › Time off › Vacation"
    assert len(vacation.embedding) == 384
    assert Chunk.objects.filter(document=document, search="vacation").exists()
    assert Chunk.objects.filter(document=document, search="carry").count() == 1


def test_pdf_chunks_keep_their_page_numbers(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = document_upload(
        actor=owner_a, workspace=workspace, upload=sample("benefits-guide-2026.pdf")
    )
    document = document_ingest(document_id=document.pk)

    pages = set(Chunk.objects.filter(document=document).values_list("page", flat=True))
    assert document.pages == 5
    assert pages == {1, 2, 3, 4, 5}


def test_docx_chunks_keep_their_heading_paths(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = document_upload(
        actor=owner_a,
        workspace=workspace,
        upload=sample("engineering-oncall-incident-runbook.docx"),
    )
    document_ingest(document_id=document.pk)

    headings = set(Chunk.objects.filter(document=document).values_list("heading_path", flat=True))
    assert any(path.endswith("› 2.1 Rotations and schedule") for path in headings)


def test_ingesting_twice_gives_the_same_chunks(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)
    first = list(
        Chunk.objects.filter(document=document).values_list("ordinal", "text", "heading_path")
    )

    document_ingest(document_id=document.pk)

    assert (
        list(Chunk.objects.filter(document=document).values_list("ordinal", "text", "heading_path"))
        == first
    )


def test_a_new_version_replaces_the_chunks_only_once_it_is_indexed(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)
    new_version = HANDBOOK.replace(b"25 vacation days", b"27 vacation days")

    document_replace(actor=owner_a, document=document, upload=upload("handbook.md", new_version))
    while_queued = set(Chunk.objects.filter(document=document).values_list("text", flat=True))
    document_ingest(document_id=document.pk)
    after = set(Chunk.objects.filter(document=document).values_list("text", flat=True))

    assert any("25 vacation days" in text for text in while_queued)
    assert any("27 vacation days" in text for text in after)
    assert not any("25 vacation days" in text for text in after)
    document.refresh_from_db()
    assert document.version == 2
    assert document.file.read() == new_version


def test_an_unreadable_new_version_keeps_the_old_chunks_searchable(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)
    before = Chunk.objects.filter(document=document).count()

    document_replace(actor=owner_a, document=document, upload=upload("handbook.md", b"   "))
    document = document_ingest(document_id=document.pk)

    assert document.status == DocumentStatus.FAILED
    assert "previous version is still searchable" in document.error
    assert Chunk.objects.filter(document=document).count() == before


def test_identical_content_is_reported_not_indexed_twice(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    ingest(workspace, owner_a, "handbook.md", HANDBOOK)
    client = signed_in(org_a, owner_a)

    response = client.post(
        f"/w/{workspace.slug}/upload/", {"files": [upload("copy-of-handbook.md", HANDBOOK)]}
    )

    assert "has the same content as “Handbook”" in response.content.decode()
    assert Document.objects.count() == 1


def test_deleting_a_document_removes_its_chunks_and_file(
    org_a: Organization, owner_a: User, workspace: Workspace, django_capture_on_commit_callbacks
):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)
    stored = document.file.path

    with django_capture_on_commit_callbacks(execute=True):
        signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/documents/{document.pk}/delete/")

    assert not Document.objects.filter(pk=document.pk).exists()
    assert not Chunk.objects.filter(document_id=document.pk).exists()
    assert not __import__("os").path.exists(stored)


def test_document_page_shows_chunks_and_download_returns_the_original(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)
    client: Client = signed_in(org_a, owner_a)

    page = client.get(f"/w/{workspace.slug}/documents/{document.pk}/").content.decode()
    download = client.get(f"/w/{workspace.slug}/documents/{document.pk}/download/")

    assert "Handbook › Time off › Vacation" in page
    assert "25 vacation days" in page
    assert b"".join(download.streaming_content) == HANDBOOK
    assert 'filename="handbook.md"' in download["Content-Disposition"]


def test_finished_rows_stop_polling(org_a: Organization, owner_a: User, workspace: Workspace):
    document = ingest(workspace, owner_a, "handbook.md", HANDBOOK)

    row = signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/documents/{document.pk}/row/")

    assert b"Ready" in row.content
    assert b"hx-trigger" not in row.content


def test_pasted_entry_is_indexed_as_a_document(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/entry/", {"title": "Parking", "text": "Visitors park on level -2."}
    )
    document = Document.objects.get(title="Parking")
    document_ingest(document_id=document.pk)

    assert Chunk.objects.get(document=document).text == "Visitors park on level -2."


def test_ingest_command_loads_a_folder_into_a_workspace(org_a: Organization, tmp_path):
    (tmp_path / "a.md").write_bytes(HANDBOOK)
    (tmp_path / "b.txt").write_text("Parking is on level -2.")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")

    call_command("ingest", str(tmp_path), tenant="alpha", workspace="loaded")

    documents = Document.objects.filter(workspace__slug="loaded")
    # a.md's own title is its first heading; b.txt has none and is named after its file.
    assert sorted(documents.values_list("title", flat=True)) == ["B", "Handbook"]
    assert set(documents.values_list("status", flat=True)) == {DocumentStatus.READY}
