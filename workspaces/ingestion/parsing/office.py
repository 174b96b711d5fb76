"""Office Open XML: Word (.docx), Excel (.xlsx) and PowerPoint (.pptx)."""

import datetime
import io
import re
import zipfile
from typing import Any

from django.conf import settings

from workspaces.ingestion.parsing.structure import (
    ParsedDocument,
    Section,
    UnreadableDocument,
    inline,
    list_section,
    table_section,
)
from workspaces.models import DocumentKind

CAPTION_MAX_CHARS = 120


def archive_implausible(entries: list[zipfile.ZipInfo]) -> bool:
    unpacked = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries) or 1
    # A real office file unpacks to a few times its size; a zip bomb to thousands of times.
    return unpacked > settings.DOCX_MAX_UNPACKED_BYTES or unpacked / packed > 200


def _ensure_plausible_archive(data: bytes, name: str) -> None:
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile:
        raise UnreadableDocument(f"The file is not a valid {name} document.") from None
    if archive_implausible(entries):
        raise UnreadableDocument(
            f"The {name} document unpacks to an implausible size (a zip bomb?) and was not opened."
        )


def docx_parse(data: bytes) -> ParsedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _ensure_plausible_archive(data, "Word")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises many kinds for a damaged package
        raise UnreadableDocument("The Word document is damaged and cannot be read.") from None
    title = inline(document.core_properties.title or "")
    headings: list[str] = []
    sections: list[Section] = []
    items: list[str] = []
    ordered = False
    caption: Paragraph | None = None
    root = 0  # 1 when a Title paragraph heads every heading path

    def items_flush() -> None:
        section = list_section(items, ordered=ordered, heading_path=tuple(headings))
        sections.extend([section] if section is not None else [])
        items.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            items_flush()
            caption_text = ""
            if caption is not None and sections and sections[-1].text == inline(caption.text):
                caption_text = sections.pop().text
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            section = table_section(rows, caption=caption_text, heading_path=tuple(headings))
            sections.extend([section] if section is not None else [])
            caption = None
            continue
        text = inline(block.text)
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        if style == "Title":
            items_flush()
            title, headings, root = title or text, [text], 1
            continue
        level = _heading_level(style)
        if level:
            items_flush()
            headings = [*headings[: root + level - 1], text]
            continue
        numbered = block._p.pPr is not None and block._p.pPr.numPr is not None
        if "List" in style or numbered:
            if not items:
                ordered = "Number" in style
            items.append(text)
            continue
        items_flush()
        sections.append(Section(text=text, heading_path=tuple(headings)))
        caption = block if _is_caption(block, style) else None
    items_flush()
    return ParsedDocument(kind=DocumentKind.DOCX, sections=sections, title=title)


def _heading_level(style: str) -> int:
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


def _is_caption(paragraph: Any, style: str) -> bool:
    """A short line right before a table that names it: a Caption style, "Table ...", or
    a line set in bold."""
    text = inline(paragraph.text)
    if not text or len(text) > CAPTION_MAX_CHARS or text.endswith("."):
        return False
    bold = all(run.bold for run in paragraph.runs if run.text.strip())
    return style == "Caption" or text.lower().startswith("table") or bold


def xlsx_parse(data: bytes) -> ParsedDocument:
    """Each sheet a table under a heading of the sheet's name; its first row the header."""
    import openpyxl  # type: ignore[import-untyped]

    _ensure_plausible_archive(data, "Excel")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged package
        raise UnreadableDocument("The Excel workbook is damaged and cannot be read.") from None
    sections: list[Section] = []
    try:
        for sheet in workbook.worksheets:
            rows = [
                [_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)
            ]
            section = table_section(rows, heading_path=(sheet.title,))
            sections.extend([section] if section is not None else [])
        title = inline(workbook.properties.title or "")
    finally:
        workbook.close()
    return ParsedDocument(kind=DocumentKind.XLSX, sections=sections, title=title)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def pptx_parse(data: bytes) -> ParsedDocument:
    """Each slide's title a heading (its page number the slide number); body text as
    paragraphs or, when bulleted or indented, list items; tables; speaker notes under the
    heading "Notes"."""
    import pptx

    _ensure_plausible_archive(data, "PowerPoint")
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
    except Exception:  # python-pptx raises many kinds for a damaged package
        raise UnreadableDocument("The PowerPoint file is damaged and cannot be read.") from None
    title = inline(presentation.core_properties.title or "")
    sections: list[Section] = []
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        slide_title = inline(title_shape.text_frame.text) if title_shape is not None else ""
        title = title or slide_title
        path = (slide_title,) if slide_title else (f"Slide {number}",)
        for shape in slide.shapes:
            if shape == title_shape:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                section = table_section(rows, page=number, heading_path=path)
                sections.extend([section] if section is not None else [])
            elif shape.has_text_frame:
                sections.extend(_slide_text(shape.text_frame, number, path))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame
            sections.extend(_slide_text(notes, number, (*path, "Notes"), bullets=False))
    return ParsedDocument(
        kind=DocumentKind.PPTX, sections=sections, pages=len(presentation.slides), title=title
    )


def _slide_text(
    frame: Any, page: int, path: tuple[str, ...], bullets: bool = True
) -> list[Section]:
    paragraphs = [(inline(p.text), p.level) for p in frame.paragraphs]
    paragraphs = [(text, level) for text, level in paragraphs if text]
    if bullets and len(paragraphs) > 1:
        # A text box of several short lines is a slide's bullet list.
        section = list_section([text for text, _ in paragraphs], page=page, heading_path=path)
        return [section] if section is not None else []
    return [Section(text=text, page=page, heading_path=path) for text, _ in paragraphs]
