"""Bytes of an uploaded file -> sections (prose paragraphs, tables, lists) with page
numbers and heading paths, and the document's own title.

The file type is decided by content, not by name (workspaces.ingestion.parsing.formats).
A format we cannot read is refused at upload (`document_format_ensure`); a file of a
supported type that turns out unreadable is refused while parsing. Every refusal is an
UnreadableDocument whose message is shown to the person who uploaded the file, as is.
"""

from collections.abc import Callable

from workspaces.ingestion.parsing import office, pdf, text, web
from workspaces.ingestion.parsing.formats import (
    READABLE,
    SUPPORTED,
    document_format_ensure,
    document_kind_detect,
    readable_formats_listed,
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
    "PARSERS",
    "READABLE",
    "SUPPORTED",
    "ParsedDocument",
    "Section",
    "SectionKind",
    "UnreadableDocument",
    "document_format_ensure",
    "document_kind_detect",
    "document_parse",
    "normalise",
    "readable_formats_listed",
]


def _text_parser(parse: Callable[[str], ParsedDocument]) -> Callable[[bytes], ParsedDocument]:
    return lambda data: parse(text.text_decode(data))


# One parser for each kind in formats.READABLE (the formats we tell people we read).
PARSERS: dict[str, Callable[[bytes], ParsedDocument]] = {
    DocumentKind.PDF: pdf.pdf_parse,
    DocumentKind.DOCX: office.docx_parse,
    DocumentKind.XLSX: office.xlsx_parse,
    DocumentKind.CSV: _text_parser(text.csv_parse),
    DocumentKind.PPTX: office.pptx_parse,
    DocumentKind.HTML: _text_parser(web.html_parse),
    DocumentKind.MARKDOWN: _text_parser(web.markdown_parse),
    DocumentKind.TEXT: _text_parser(text.text_parse),
}


def document_parse(*, data: bytes, filename: str) -> ParsedDocument:
    kind = document_kind_detect(data=data, filename=filename)
    parsed = PARSERS[kind](data)
    sections = sections_finish([section for section in parsed.sections if section.text])
    return ParsedDocument(
        kind=parsed.kind, sections=sections, pages=parsed.pages, title=parsed.title[:300],
        ocr_confidence=parsed.ocr_confidence,
    )  # fmt: skip
