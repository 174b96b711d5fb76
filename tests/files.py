"""Files for upload tests, built in memory with the same libraries the product reads them with."""

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def upload(
    name: str, data: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def sample(name: str) -> SimpleUploadedFile:
    return upload(name, (SAMPLES / name).read_bytes())


def blank_pdf(pages: int = 1, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    if password:
        writer.encrypt(user_password=password, owner_password=password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def zip_bomb_docx(unpacked_mb: int = 60) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (unpacked_mb * 1024 * 1024))
    return buffer.getvalue()


def png() -> bytes:
    return bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


# A line of a text PDF: (font size, bold, [(x, text), ...]); several cells make a table row.
PdfLine = tuple[float, bool, list[tuple[int, str]]]


def text_pdf(pages: list[list[PdfLine]], title: str = "") -> bytes:
    """A PDF whose pages carry real text lines in Helvetica (bold where asked), drawn top
    down as a word processor would, with `title` in its metadata."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    fonts = DictionaryObject(
        {
            NameObject(f"/F{number}"): DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject(name),
                    NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
                }
            )
            for number, name in ((1, "/Helvetica"), (2, "/Helvetica-Bold"))
        }
    )
    for lines in pages:
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        operations, y = [], 760.0
        for size, bold, cells in lines:
            for x, text in cells:
                escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                operations.append(
                    f"BT /F{2 if bold else 1} {size} Tf {x} {y:.1f} Td ({escaped}) Tj ET"
                )
            y -= size * 1.5
        stream = DecodedStreamObject()
        stream.set_data("\n".join(operations).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title:
        writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def scanned_pdf(lines: list[str]) -> bytes:
    """An image-only PDF, as a scanner makes: black-and-white text drawn on a page image."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("1", (1240, 120 + 70 * len(lines)), 1)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)
    for number, line in enumerate(lines):
        draw.text((70, 60 + 70 * number), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


def docx_file(build: Callable[[Any], None], title: str = "") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_file(sheets: dict[str, list[list[object]]], title: str = "") -> bytes:
    import openpyxl  # type: ignore[import-untyped]

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pptx_file(slides: list[tuple[str, list[str], str]]) -> bytes:
    """Slides of (title, bullet lines, speaker notes)."""
    import pptx

    presentation = pptx.Presentation()
    for title, bullets, notes in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        assert slide.shapes.title is not None
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def samples_ingested(*, owner: Any, files: dict[Any, list[str]]) -> None:
    """Upload the named sample files into their workspaces as `owner` and ingest them in
    this process (no worker), in the organization whose schema is in force."""
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.services import document_upload

    ids = [
        document_upload(
            actor=owner, workspace=workspace, upload=sample(name), queue_ingestion=False
        ).pk
        for workspace, names in files.items()
        for name in names
    ]
    documents_ingest(document_ids=ids)


def sample_workspaces(*, owner: Any) -> tuple[Any, Any, Any]:
    """Three workspaces with sample documents ingested, as the API's and the Slack app's
    tests use them: Handbook (restricted: time off, product FAQ), Finance (restricted: travel
    and expenses) and Everyone (open: code of conduct)."""
    from workspaces.services import workspace_create

    handbook = workspace_create(actor=owner, name="Handbook")
    finance = workspace_create(actor=owner, name="Finance")
    everyone = workspace_create(actor=owner, name="Everyone", is_open=True)
    samples_ingested(
        owner=owner,
        files={
            handbook: ["employee-handbook-time-off.md", "product-faq-nr200-nr350.txt"],
            finance: ["travel-and-expense-policy.html"],
            everyone: ["code-of-conduct.md"],
        },
    )
    return handbook, finance, everyone
