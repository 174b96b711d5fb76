"""Bytes of an uploaded file -> sections (prose paragraphs, tables, lists) with page
numbers and heading paths, and the document's own title.

The file type is decided by content, not by name (workspaces.ingestion.parsing.formats).
A format we cannot read is refused at upload (`document_format_ensure`); a file of a
supported type that turns out unreadable is refused while parsing. Every refusal is an
UnreadableDocument whose message is shown to the person who uploaded the file, as is.
"""

from collections.abc import Callable

from workspaces.ingestion.parsing.formats import (
    SUPPORTED,
    document_format_ensure,
    document_kind_detect,
)
from workspaces.ingestion.parsing.structure import (
    ParsedDocument,
    Section,
    SectionKind,
    UnreadableDocument,
    normalise,
    sections_finish,
)
from workspaces.models import DocumentKind

__all__ = [
    "SUPPORTED",
    "ParsedDocument",
    "Section",
    "SectionKind",
    "UnreadableDocument",
    "document_format_ensure",
    "document_kind_detect",
    "document_parse",
    "normalise",
]


def document_parse(*, data: bytes, filename: str) -> ParsedDocument:
    from workspaces.ingestion.parsing import office, pdf, text, web

    kind = document_kind_detect(data=data, filename=filename)
    parsers: dict[str, Callable[[bytes], ParsedDocument]] = {
        DocumentKind.PDF: pdf.pdf_parse,
        DocumentKind.DOCX: office.docx_parse,
        DocumentKind.XLSX: office.xlsx_parse,
        DocumentKind.PPTX: office.pptx_parse,
    }
    if kind in parsers:
        parsed = parsers[kind](data)
    else:
        decoded = text.text_decode(data)
        if kind == DocumentKind.HTML:
            parsed = web.html_parse(decoded)
        elif kind == DocumentKind.MARKDOWN:
            parsed = web.markdown_parse(decoded)
        elif kind == DocumentKind.CSV:
            parsed = text.csv_parse(decoded)
        else:
            parsed = text.text_parse(decoded)
    sections = sections_finish([section for section in parsed.sections if section.text])
    return ParsedDocument(
        kind=parsed.kind, sections=sections, pages=parsed.pages, title=parsed.title[:300],
        ocr_confidence=parsed.ocr_confidence,
    )  # fmt: skip
