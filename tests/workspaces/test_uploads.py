"""Uploads as a person meets them: a batch past the plan's cap says of each file left out
why, before anything is stored; a pasted entry refused keeps what was typed; a damaged
file is called damaged, naming its format."""

import io
import re
import zipfile

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from tenants.models import Organization
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in
from tests.files import SAMPLES, pptx_file, upload, xlsx_file
from workspaces.models import Document, Workspace


def _text_file(name: str) -> object:
    return upload(name, f"Minutes of the meeting kept in {name}.".encode(), "text/plain")


def _reasons(body: str) -> list[str]:
    listed = re.search(r'data-testid="upload-refused">(.*?)</div>', body, re.S)
    assert listed is not None, body
    return [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<li>(.*?)</li>", listed[1])]


def test_batch_past_the_document_cap_adds_what_fits_and_names_each_file_left_out(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    plan_caps("free", max_documents=3)
    names = [f"minutes-{n}.txt" for n in range(1, 6)]
    files = [_text_file(name) for name in names]
    # A file refused for itself takes no place under the cap.
    files.insert(1, upload("photo.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64))

    response = signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/upload/", {"files": files})

    body = response.content.decode()
    assert "Added 3 of 6 files. 3 were not added:" in body
    reasons = _reasons(body)
    assert reasons[0].startswith("“photo.pdf”")
    assert reasons[1:] == [
        f"“{name}” was not added: it does not fit under the Free plan&#x27;s limit of 3 documents."
        for name in names[3:]
    ]
    assert "Upgrade the plan" in body
    with tenant_context(org_a):
        stored = sorted(Document.objects.values_list("original_name", flat=True))
    assert stored == names[:3]


def test_batch_with_no_room_left_stores_nothing_and_lists_every_file(
    org_a: Organization, owner_a: User, workspace: Workspace, settings
):
    plan_caps("free", max_documents=0)
    names = ["a.txt", "b.txt"]

    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/upload/", {"files": [_text_file(name) for name in names]}
    )

    body = response.content.decode()
    assert "None of the files were added:" in body
    assert [reason.split(" ")[0] for reason in _reasons(body)] == ["“a.txt”", "“b.txt”"]
    with tenant_context(org_a):
        assert not Document.objects.exists()
    assert not (settings.MEDIA_ROOT / org_a.schema_name).exists()


def test_batch_past_the_storage_cap_leaves_out_the_file_that_does_not_fit(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    plan_caps("free", max_storage_bytes=1000)
    files = [
        upload("small.txt", b"s" * 300, "text/plain"),
        upload("large.txt", b"l" * 900, "text/plain"),
        upload("also-small.txt", b"a" * 300, "text/plain"),
    ]

    response = signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/upload/", {"files": files})

    assert _reasons(response.content.decode()) == [
        "“large.txt” was not added: it does not fit under the Free plan&#x27;s limit of "
        "1000\xa0bytes of storage."
    ]
    with tenant_context(org_a):
        stored = sorted(Document.objects.values_list("original_name", flat=True))
    assert stored == ["also-small.txt", "small.txt"]


def test_same_file_twice_in_one_batch_is_added_once_and_the_copy_named(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    files = [upload("a.txt", b"Same words.", "text/plain"), upload("b.txt", b"Same words.")]

    response = signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/upload/", {"files": files})

    assert _reasons(response.content.decode()) == [
        "“b.txt” has the same content as “a.txt”, earlier in this upload."
    ]
    with tenant_context(org_a):
        assert list(Document.objects.values_list("original_name", flat=True)) == ["a.txt"]


CUT_SHORT = "the end of the file is missing, as when a download or copy stops early"
AGAIN = "Save or download it again and upload the new copy."


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _corrupted_member(data: bytes, member: str) -> bytes:
    """The Office file with one of its parts garbled, its ZIP container intact."""
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(
                item, content[: len(content) // 3] if item.filename == member else content
            )
    return buffer.getvalue()


DOCX = (SAMPLES / "engineering-oncall-incident-runbook.docx").read_bytes()
XLSX = xlsx_file({"Rates": [["City", "Rate"], *[[f"City {n}", n * 10] for n in range(200)]]})
PPTX = pptx_file([(f"Slide {n}", ["A point", "Another point"], "Notes") for n in range(8)])


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "benefits.pdf", _half((SAMPLES / "benefits-guide-2026.pdf").read_bytes()),
            f"This PDF is damaged and could not be read: {CUT_SHORT}.",
        ),
        ("runbook.docx", _half(DOCX), f"This Word document is damaged and could not be read: {CUT_SHORT}."),
        ("rates.xlsx", _half(XLSX), f"This Excel workbook is damaged and could not be read: {CUT_SHORT}."),
        ("deck.pptx", _half(PPTX), f"This PowerPoint file is damaged and could not be read: {CUT_SHORT}."),
        (
            "runbook.docx", _corrupted_member(DOCX, "word/document.xml"),
            "This Word document is damaged and could not be read: part of its content is corrupted.",
        ),
        (
            "rates.xlsx", _corrupted_member(XLSX, "xl/workbook.xml"),
            "This Excel workbook is damaged and could not be read: part of its content is corrupted.",
        ),
        (
            "deck.pptx", _corrupted_member(PPTX, "ppt/presentation.xml"),
            "This PowerPoint file is damaged and could not be read: part of its content is corrupted.",
        ),
        (
            "scan.pdf", b"\x00\x13\xa7garbled" + (SAMPLES / "nr350-safety-manual.pdf").read_bytes()[12:],
            "This PDF is damaged and could not be read: it does not begin as a .pdf file does.",
        ),
    ],
)  # fmt: skip
def test_damaged_file_is_refused_at_upload_saying_it_is_damaged(
    org_a: Organization, owner_a: User, workspace: Workspace, name: str, data: bytes, reason: str
):
    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/upload/", {"files": [upload(name, data)]}
    )

    assert _reasons(response.content.decode()) == [f"“{name}”: {reason} {AGAIN}"]
    assert "binary file" not in response.content.decode()
    with tenant_context(org_a):
        assert not Document.objects.exists()


def test_whole_files_of_each_damage_checked_format_are_still_taken(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    files = [
        upload("benefits.pdf", (SAMPLES / "benefits-guide-2026.pdf").read_bytes()),
        upload("runbook.docx", DOCX), upload("rates.xlsx", XLSX), upload("deck.pptx", PPTX),
    ]  # fmt: skip

    response = signed_in(org_a, owner_a).post(f"/w/{workspace.slug}/upload/", {"files": files})

    assert 'data-testid="upload-refused"' not in response.content.decode()
    with tenant_context(org_a):
        assert Document.objects.count() == 4


HANDBOOK = (
    "# Staff handbook\n\n## Can I carry over annual leave?\n\n"
    "Up to five days of annual leave carry over into the next year.\n\n"
    "## How do I claim travel expenses?\n\nSubmit receipts in the expenses portal within "
    "thirty days of the trip.\n"
)


def test_a_new_version_of_a_document_is_offered_to_replace_it_and_does(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    client = signed_in(org_a, owner_a)
    client.post(
        f"/w/{workspace.slug}/upload/", {"files": [upload("handbook.md", HANDBOOK.encode())]}
    )
    revised = HANDBOOK + "\n## Is there a dress code?\n\nSmart casual on weekdays.\n"

    response = client.post(
        f"/w/{workspace.slug}/upload/", {"files": [upload("Handbook.md", revised.encode())]}
    )

    body = response.content.decode()
    assert "“Handbook.md” looks like a new version of “Handbook”, already here" in body
    with tenant_context(org_a):
        first, second = Document.objects.order_by("pk")
    replace = f"/w/{workspace.slug}/documents/{second.pk}/supersede/{first.pk}/"
    assert f'hx-post="{replace}?sort=title"' in body
    assert ">Replace it as a new version</button>" in body

    replaced = client.post(
        replace + "?sort=title", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="documents"
    )

    assert "“Handbook” is now version 2" in replaced.content.decode()
    with tenant_context(org_a):
        (kept,) = Document.objects.all()
        assert (kept.pk, kept.version, kept.original_name) == (first.pk, 2, "Handbook.md")
        assert kept.file.read().decode() == revised


def test_an_unrelated_file_is_not_called_a_new_version(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    client = signed_in(org_a, owner_a)
    client.post(
        f"/w/{workspace.slug}/upload/", {"files": [upload("handbook.md", HANDBOOK.encode())]}
    )

    response = client.post(
        f"/w/{workspace.slug}/upload/", {"files": [upload("menu.md", b"# Canteen menu\n\nSoup.")]}
    )

    assert 'data-testid="new-version"' not in response.content.decode()


def test_two_versions_side_by_side_give_answers_each_passage_and_suggestions_each_question_once(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    from assistant.selectors import question_suggestions
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.search.retrieval import chunks_retrieve
    from workspaces.services import document_upload

    ids = [
        document_upload(actor=owner_a, workspace=workspace, upload=upload(name, text.encode()),
                        queue_ingestion=False).pk
        for name, text in (("handbook.md", HANDBOOK), ("handbook-2026.md", HANDBOOK + "\nNew.\n"))
    ]  # fmt: skip
    documents_ingest(document_ids=ids)

    found = chunks_retrieve(user=owner_a, query="carry over annual leave", k=5, distinct=True)
    texts = [" ".join(result.text.split()) for result in found]
    suggestions = question_suggestions(user=owner_a)

    assert len(texts) == len(set(texts)) > 0
    assert suggestions == ["Can I carry over annual leave?", "How do I claim travel expenses?"]


def test_a_document_holding_most_passages_of_an_older_one_offers_to_replace_it(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.services import document_upload

    revised = HANDBOOK.replace("# Staff handbook", "# Staff handbook, revised") + (
        "\n## Is there a dress code?\n\nSmart casual on weekdays.\n"
    )
    older, newer = (
        document_upload(actor=owner_a, workspace=workspace, upload=upload(name, text.encode()),
                        queue_ingestion=False)
        for name, text in (("handbook.md", HANDBOOK), ("policies-2026.md", revised))
    )  # fmt: skip
    documents_ingest(document_ids=[older.pk, newer.pk])
    client = signed_in(org_a, owner_a)

    newer_page = client.get(f"/w/{workspace.slug}/documents/{newer.pk}/").content.decode()
    older_page = client.get(f"/w/{workspace.slug}/documents/{older.pk}/").content.decode()

    assert "passages are word for word in “<a" in newer_page
    assert f"/documents/{newer.pk}/supersede/{older.pk}/" in newer_page
    assert 'data-testid="earlier-version"' not in older_page
    client.post(f"/w/{workspace.slug}/documents/{newer.pk}/supersede/{older.pk}/")
    with tenant_context(org_a):
        (kept,) = Document.objects.all()
    assert (kept.pk, kept.version, kept.original_name) == (older.pk, 2, "policies-2026.md")
