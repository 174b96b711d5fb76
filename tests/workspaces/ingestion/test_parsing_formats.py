"""What a person notices after uploading ordinary company files: whole sentences, tables
whose rows read on their own, titles from the files, more formats, scans read by OCR, and
formats we cannot read refused at once."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role, User
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import (
    docx_file,
    png,
    pptx_file,
    scanned_pdf,
    text_pdf,
    upload,
    xlsx_file,
)
from workspaces.ingestion.pipeline import document_ingest
from workspaces.models import Chunk, Document, DocumentStatus, Workspace, WorkspaceRole
from workspaces.search.retrieval import RetrievedChunk, chunks_retrieve
from workspaces.services import WorkspaceError, document_rename, document_upload, grant_set

HEADER = (8.0, False, [(60, "Acme Ltd | Travel Policy"), (480, "FIN-3 v2")])


def ingest(workspace: Workspace, owner: User, name: str, data: bytes) -> Document:
    document = document_upload(actor=owner, workspace=workspace, upload=upload(name, data))
    document = document_ingest(document_id=document.pk)
    assert document.status == DocumentStatus.READY, document.error
    return document


def texts(document: Document) -> list[str]:
    return list(Chunk.objects.filter(document=document).values_list("text", flat=True))


def best(owner: User, workspace: Workspace, query: str) -> RetrievedChunk:
    return chunks_retrieve(user=owner, query=query, within=[workspace.pk], k=1)[0]


def footer(page: int) -> tuple[float, bool, list[tuple[int, str]]]:
    return (8.0, False, [(60, "Uncontrolled when printed."), (480, f"Page {page} of 2")])


def policy_pdf() -> bytes:
    body = 10.0
    return text_pdf(
        [
            [
                HEADER,
                (18.0, True, [(60, "Travel Policy")]),
                (13.0, True, [(60, "1. Meeting points")]),
                (
                    body,
                    False,
                    [
                        (
                            60,
                            "In an emergency the assembly point for every office is the staff car park on",
                        )
                    ],
                ),
                (
                    body,
                    False,
                    [
                        (
                            60,
                            "Harbour Street, next to the blue gate. Fire marshals wear yellow vests and",
                        )
                    ],
                ),
                (
                    body,
                    False,
                    [
                        (
                            60,
                            "check each floor before they leave. Visitors are escorted out by their host.",
                        )
                    ],
                ),
                (
                    body,
                    False,
                    [
                        (
                            60,
                            "Requests for a parking permit go to the facilities team, who handle all pay-",
                        )
                    ],
                ),
                (body, False, [(60, "roll deductions for permits and keep the fixed-")]),
                (body, False, [(60, "term contracts of the car park operator.")]),
                footer(1),
            ],
            [
                HEADER,
                (13.0, True, [(60, "2. Hotels")]),
                (9.5, True, [(60, "Table 3 - Hotel caps by city")]),
                (9.0, True, [(60, "City"), (220, "Nightly cap"), (380, "Meal allowance")]),
                (9.0, False, [(60, "London"), (220, "GBP 210"), (380, "GBP 55")]),
                (9.0, False, [(60, "Paris"), (220, "EUR 190"), (380, "EUR 50")]),
                (9.0, False, [(60, "New York"), (220, "USD 320"), (380, "USD 85")]),
                (body, False, [(60, "Book every hotel through the travel desk.")]),
                footer(2),
            ],
        ],
        title="Acme Travel Policy",
    )


def test_pdf_sentences_stay_whole_under_recovered_headings_without_page_chrome(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "travel.pdf", policy_pdf())

    chunks = list(Chunk.objects.filter(document=document))
    joined = "\n".join(chunk.text for chunk in chunks)
    assert document.title == "Acme Travel Policy"
    assert "the staff car park on Harbour Street, next to the blue gate." in joined
    assert "handle all payroll deductions" in joined
    assert "the fixed-term contracts" in joined
    assert "Uncontrolled when printed" not in joined
    assert "FIN-3" not in joined
    meeting = next(chunk for chunk in chunks if "Harbour Street" in chunk.text)
    assert meeting.heading_path == "Travel Policy › 1. Meeting points"
    assert meeting.page == 1


def test_pdf_text_table_rows_are_lines_with_their_headers(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "travel.pdf", policy_pdf())

    table = best(owner_a, workspace, "What is the nightly hotel cap in Paris?")
    assert table.document_id == document.pk
    assert table.text.split("\n")[0] == "Table 3 - Hotel caps by city"
    assert "City: Paris · Nightly cap: EUR 190 · Meal allowance: EUR 50" in table.text.split("\n")
    assert table.heading_path.endswith("2. Hotels › Table 3 - Hotel caps by city")
    assert "Book every hotel" not in table.text
    assert table.page == 2


def test_a_pdf_table_header_wrapped_onto_a_second_line_still_heads_its_column(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    body = 10.0
    data = text_pdf(
        [
            [
                (18.0, True, [(60, "Leave Policy")]),
                (body, False, [(60, "Annual leave grows with service, as the table shows.")]),
                (9.5, True, [(60, "Table 1 - Annual leave by service")]),
                (
                    9.0,
                    True,
                    [(60, "Length of service"), (220, "Office staff"), (380, "Duty and site")],
                ),
                (9.0, True, [(380, "managers")]),
                (9.0, False, [(60, "Under 2 years"), (220, "22 days"), (380, "24 days")]),
                (9.0, False, [(60, "Over 5 years"), (220, "27 days"), (380, "28 days")]),
                (body, False, [(60, "Book your leave with your manager.")]),
            ]
        ]
    )
    document = ingest(workspace, owner_a, "leave.pdf", data)

    rows = "\n".join(texts(document)).split("\n")
    assert (
        "Length of service: Under 2 years · Office staff: 22 days · Duty and site managers: 24 days"
    ) in rows
    assert (
        "Length of service: Over 5 years · Office staff: 27 days · Duty and site managers: 28 days"
    ) in rows


def build_benefits(document: Any) -> None:
    document.add_paragraph("Benefits", style="Title")
    document.add_heading("Pension", level=1)
    caption = document.add_paragraph()
    caption.add_run("Pension by office").bold = True
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [["Office", "Employer", "Employee"], ["Leeds", "6%", "4%"], ["Cork", "7%", "5%"]],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("Perks", level=1)
    document.add_paragraph("Every employee can choose two of these perks:")
    for perk in ("a cycle to work loan", "free eye tests", "a season ticket loan"):
        document.add_paragraph(perk, style="List Bullet")


def test_docx_tables_lists_and_core_title(org_a: Organization, owner_a: User, workspace: Workspace):
    data = docx_file(build_benefits, title="Benefits Guide 2030")
    document = ingest(workspace, owner_a, "benefits.docx", data)

    chunks = {chunk.heading_path: chunk.text for chunk in Chunk.objects.filter(document=document)}
    assert document.title == "Benefits Guide 2030"
    assert chunks["Benefits › Pension › Pension by office"] == (
        "Pension by office\nOffice: Leeds · Employer: 6% · Employee: 4%\n"
        "Office: Cork · Employer: 7% · Employee: 5%"
    )
    assert chunks["Benefits › Perks"] == (
        "Every employee can choose two of these perks:\n- a cycle to work loan\n"
        "- free eye tests\n- a season ticket loan"
    )


def test_html_title_tables_and_lists_without_the_page_chrome(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    html = b"""<html><head><title>Office guide | Intranet</title></head><body>
    <nav><a href="/">Home</a> <a href="/hr">HR</a></nav>
    <div class="cookie-banner">We use cookies. Accept?</div>
    <main><h1>Office guide</h1><h2>Rooms</h2><p>Book rooms in the app.</p>
    <table><tr><th>Room</th><th>Seats</th></tr><tr><td>Avon</td><td>12</td></tr>
    <tr><td>Frome</td><td>6</td></tr></table>
    <h2>Parking</h2><p>Spaces are given in this order:</p>
    <ol><li>Blue Badge holders</li><li>car sharers</li></ol></main>
    <footer>Copyright Acme</footer></body></html>"""
    document = ingest(workspace, owner_a, "office.html", html)

    joined = "\n".join(texts(document))
    assert document.title == "Office guide"
    assert "Room: Frome · Seats: 6" in joined.split("\n")
    assert "Spaces are given in this order:\n1. Blue Badge holders\n2. car sharers" in joined
    assert "cookies" not in joined and "Copyright" not in joined and "Home" not in joined


def test_wrapped_markdown_is_rejoined_and_pipe_tables_become_rows(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    markdown = b"""# Release process

To roll back, run the rollback command. Do not
re-run the migration automatically; write a forward fix
instead.

| Environment | Who can deploy |
|-------------|----------------|
| staging     | CI only        |
| production  | Release managers |
"""
    document = ingest(workspace, owner_a, "release.md", markdown)

    joined = "\n".join(texts(document))
    assert document.title == "Release process"
    assert "Do not re-run the migration automatically; write a forward fix instead." in joined
    assert "Environment: production · Who can deploy: Release managers" in joined.split("\n")


def test_text_faq_pairs_are_one_chunk_each_with_the_question_as_heading(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    faq = (
        "ACME FAQ\n\nQ: How long must a password be?\nA: At least 14 characters.\n\n"
        "Q: When is payday?\nA: Salaries are paid on the 25th.\nIf it is a weekend, the "
        "Friday before.\n"
    )
    document = ingest(workspace, owner_a, "faq.txt", faq.encode())

    chunks = {chunk.heading_path: chunk.text for chunk in Chunk.objects.filter(document=document)}
    assert chunks["How long must a password be?"] == "At least 14 characters."
    assert chunks["When is payday?"].startswith("Salaries are paid on the 25th.")
    answer = best(owner_a, workspace, "how long must a password be?")
    assert answer.text == "At least 14 characters."


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "PEOPLE TEAM - EMPLOYEE FAQ\n\nQ: When is payday?\nA: The 25th.\n",
            "People Team - Employee FAQ",
        ),
        ("Release checklist\n=================\n\nTag the build.\n", "Release checklist"),
        # A first line that is a sentence or a question is no title: the file name stands.
        ("Salaries are paid on the 25th.\nAsk payroll.\n", "Pay notes"),
        ("Q: When is payday?\nA: The 25th.\n", "Pay notes"),
    ],
)
def test_plain_text_is_titled_by_its_first_line_when_that_reads_as_a_title(
    org_a: Organization, owner_a: User, workspace: Workspace, text: str, title: str
):
    document = ingest(workspace, owner_a, "pay-notes.txt", text.encode())

    assert document.title == title


def test_xlsx_sheets_are_tables_titled_by_sheet_and_searchable(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    data = xlsx_file(
        {
            "Per diem": [["Location", "Nightly limit"], ["London", "EUR 260"], ["Oslo", "EUR 280"]],
            "Mileage": [["Vehicle", "Rate"], ["Car", 0.45]],
        },
        title="Expense rates",
    )
    document = ingest(workspace, owner_a, "rates.xlsx", data)

    hit = best(owner_a, workspace, "nightly limit London")
    assert document.title == "Expense rates"
    assert document.kind == "xlsx"
    assert hit.heading_path == "Per diem"
    assert "Location: London · Nightly limit: EUR 260" in hit.text.split("\n")


def test_csv_rows_are_searchable(org_a: Organization, owner_a: User, workspace: Workspace):
    data = b"Product,Warranty\nNR-200 robot,24 months\nNR-350 robot,36 months\n"
    document = ingest(workspace, owner_a, "warranty.csv", data)

    hit = best(owner_a, workspace, "warranty of the NR-350")
    assert document.kind == "csv"
    assert "Product: NR-350 robot · Warranty: 36 months" in hit.text.split("\n")


def test_pptx_slide_titles_are_headings_and_notes_are_searchable(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    data = pptx_file(
        [
            ("Quarterly results", ["Revenue grew 12%", "Churn fell to 3%"], ""),
            ("Hiring plan", ["Ten engineers", "Two designers"], "Offers go out in March."),
        ]
    )
    document = ingest(workspace, owner_a, "results.pptx", data)

    chunks = {chunk.heading_path: chunk for chunk in Chunk.objects.filter(document=document)}
    assert document.title == "Quarterly results"
    assert chunks["Quarterly results"].text == "- Revenue grew 12%\n- Churn fell to 3%"
    assert chunks["Hiring plan › Notes"].page == 2
    assert best(owner_a, workspace, "when do offers go out?").text == "Offers go out in March."


def test_scanned_pdf_is_read_by_ocr_with_its_confidence_stored(
    org_a: Organization, owner_a: User, workspace: Workspace, settings
):
    data = scanned_pdf(["Fire safety notice", "The assembly point is the car park."])
    document = ingest(workspace, owner_a, "notice.pdf", data)

    hit = best(owner_a, workspace, "where is the assembly point?")
    assert hit.document_id == document.pk
    assert "assembly point" in hit.text
    assert set(document.ocr_confidence) == {"1"}
    assert 0.5 < document.ocr_confidence["1"] <= 1
    settings.OCR_LOW_CONFIDENCE = 1.01
    page = signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/documents/{document.pk}/")
    assert "Read by OCR with low confidence:</strong> page 1." in page.content.decode()


def test_utf16_text_with_a_byte_order_mark_is_read(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    text = "Visitors park on level -2.\nThe lift is next to reception.\n"
    document = ingest(workspace, owner_a, "parking.txt", text.encode("utf-16"))

    assert document.kind == "text"
    assert "Visitors park on level -2." in texts(document)[0]
    assert "The lift is next to reception." in texts(document)[0]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "rates.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "Excel 97 .xls files are not supported; save as .xlsx",
        ),
        (
            "old.doc",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "Old Word (.doc) files are not supported",
        ),
        ("memo.rtf", b"{\\rtf1\\ansi Hello}", "Rich Text (.rtf) files are not supported"),
        ("photo.txt", png(), "image/png"),
    ],
)
def test_unsupported_formats_are_refused_at_upload_with_their_name(
    org_a: Organization, owner_a: User, workspace: Workspace, name: str, data: bytes, reason: str
):
    response = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/upload/",
        {"files": [SimpleUploadedFile(name, data)]},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not Document.objects.exists()


def test_opendocument_is_refused_at_upload(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")

    with pytest.raises(WorkspaceError, match=r"OpenDocument text \(.odt\) files are not supported"):
        document_upload(
            actor=owner_a, workspace=workspace, upload=upload("memo.odt", buffer.getvalue())
        )


def test_editors_rename_a_document_and_a_new_version_keeps_the_name(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = ingest(workspace, owner_a, "notes.md", b"# Parking rules\n\nPark on level -2.\n")
    assert document.title == "Parking rules"
    editor = make_member(role=Role.MEMBER)
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.EDITOR, grantee=editor)

    signed_in(org_a, editor).post(
        f"/w/{workspace.slug}/documents/{document.pk}/rename/", {"title": "Car park rules"}
    )
    document = document_ingest(document_id=document.pk)

    assert document.title == "Car park rules"


def test_viewers_cannot_rename_a_document(org_a: Organization, owner_a: User, workspace: Workspace):
    document = ingest(workspace, owner_a, "notes.md", b"# Parking rules\n\nPark on level -2.\n")
    viewer = make_member(role=Role.MEMBER)
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=viewer)

    with pytest.raises(WorkspaceError, match="editor role"):
        document_rename(actor=viewer, document=document, title="Mine now")
    signed_in(org_a, viewer).post(
        f"/w/{workspace.slug}/documents/{document.pk}/rename/", {"title": "Mine now"}
    )

    document.refresh_from_db()
    assert document.title == "Parking rules"
