"""Each bad file gets a clear reason on its own document; nothing else is affected."""

import pytest

from accounts.models import User
from tenants.models import Organization
from tests.conftest import signed_in
from tests.files import blank_pdf, upload, zip_bomb_docx
from workspaces.ingestion.pipeline import document_ingest
from workspaces.models import Chunk, Document, DocumentStatus, Workspace
from workspaces.services import WorkspaceError, document_upload

GOOD = b"# Policy\n\nBadges must be worn at all times.\n"


def outcome(workspace: Workspace, owner: User, name: str, data: bytes) -> Document:
    document_ingest(
        document_id=document_upload(
            actor=owner, workspace=workspace, upload=upload("good.md", GOOD)
        ).pk
    )
    document = document_upload(actor=owner, workspace=workspace, upload=upload(name, data))
    return document_ingest(document_id=document.pk)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("secret.pdf", blank_pdf(password="hunter2"), "password-protected"),
        (
            "scan.pdf",
            blank_pdf(pages=2),
            "no extractable text, and none could be recognised in its images",
        ),
        ("bomb.docx", zip_bomb_docx(), "zip bomb"),
        (
            "letter.docx",
            b"Dear team, this is plain text.",
            "named .docx but is not a Word document",
        ),
        ("empty.txt", b"", "The file is empty."),
    ],
)
def test_bad_file_fails_with_a_readable_reason_and_nothing_else_is_affected(
    org_a: Organization, owner_a: User, workspace: Workspace, name: str, data: bytes, reason: str
):
    document = outcome(workspace, owner_a, name, data)

    assert document.status == DocumentStatus.FAILED
    assert reason in document.error
    assert not Chunk.objects.filter(document=document).exists()
    good = Document.objects.get(original_name="good.md")
    assert good.status == DocumentStatus.READY
    assert Chunk.objects.filter(document=good).exists()
    page = signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/").content.decode()
    assert "Failed" in page


def test_html_scripts_are_dropped_and_markup_in_text_is_escaped(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    html = (
        b"<html><head><title>Policy</title><script>steal()</script></head><body>"
        b"<h1>Badges</h1><p>Wear it &lt;img src=x onerror=alert(1)&gt; always.</p>"
        b"<script>document.write('pwned')</script></body></html>"
    )
    document = outcome(workspace, owner_a, "policy.html", html)

    texts = " ".join(Chunk.objects.filter(document=document).values_list("text", flat=True))
    page = (
        signed_in(org_a, owner_a)
        .get(f"/w/{workspace.slug}/documents/{document.pk}/")
        .content.decode()
    )
    assert document.status == DocumentStatus.READY
    assert "steal" not in texts and "pwned" not in texts
    assert "<img src=x onerror=alert(1)>" in texts
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page


def test_non_utf8_text_is_decoded(org_a: Organization, owner_a: User, workspace: Workspace):
    text = "Política de férias: cada funcionário tem direito a 25 dias úteis de férias por ano."
    document = outcome(workspace, owner_a, "ferias.txt", text.encode("cp1252"))

    assert document.status == DocumentStatus.READY
    assert Chunk.objects.get(document=document).text == text


def test_oversized_upload_is_refused_before_it_is_stored(
    org_a: Organization, owner_a: User, workspace: Workspace, settings
):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    big = upload("big.txt", b"a" * (1024 * 1024 + 1))

    with pytest.raises(WorkspaceError, match="the limit is 1 MB"):
        document_upload(actor=owner_a, workspace=workspace, upload=big)

    assert not Document.objects.exists()
    assert not (settings.MEDIA_ROOT).exists() or not any(settings.MEDIA_ROOT.rglob("*.txt"))


def test_failed_document_can_be_retried_from_its_page(
    org_a: Organization, owner_a: User, workspace: Workspace, django_capture_on_commit_callbacks
):
    document = outcome(workspace, owner_a, "empty.txt", b"")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = signed_in(org_a, owner_a).post(
            f"/w/{workspace.slug}/documents/{document.pk}/retry/", HTTP_HX_REQUEST="true"
        )

    document.refresh_from_db()
    assert response["HX-Redirect"] == f"/w/{workspace.slug}/documents/{document.pk}/"
    assert document.status == DocumentStatus.QUEUED
    assert document.error == ""
    assert len(queued) == 1
