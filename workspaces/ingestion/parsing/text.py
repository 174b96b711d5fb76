"""Plain text (hard-wrapped lines re-joined into paragraphs, FAQ markers) and CSV."""

import csv

from charset_normalizer import from_bytes

from workspaces.ingestion.parsing.formats import SUPPORTED
from workspaces.ingestion.parsing.structure import (
    BULLET,
    ORDERED,
    ParsedDocument,
    Section,
    UnreadableDocument,
    lines_join,
    lines_reflow,
    list_section,
    normalise,
    table_section,
)
from workspaces.models import DocumentKind


def text_decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace").lstrip("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise UnreadableDocument(
                f"The text encoding could not be recognised. {SUPPORTED}"
            ) from None
        return str(best)


def text_parse(text: str) -> ParsedDocument:
    return ParsedDocument(kind=DocumentKind.TEXT, sections=text_sections(text))


def text_sections(
    text: str, *, page: int | None = None, heading_path: tuple[str, ...] = ()
) -> list[Section]:
    """Paragraphs from hard-wrapped lines; runs of bulleted or numbered lines as lists
    (a wrapped item's further lines joined to it)."""
    text = normalise(text)
    sections: list[Section] = []
    items: list[str] = []
    for paragraph in lines_reflow(text.split("\n"), text):
        if BULLET.match(paragraph):
            items.append(paragraph)
            continue
        _items_flush(items, sections, page, heading_path)
        sections.append(Section(text=paragraph, page=page, heading_path=heading_path))
    _items_flush(items, sections, page, heading_path)
    return sections


def _items_flush(
    items: list[str], sections: list[Section], page: int | None, heading_path: tuple[str, ...]
) -> None:
    if items:
        ordered = all(ORDERED.match(item) for item in items)
        section = list_section(items, ordered=ordered, page=page, heading_path=heading_path)
        if section is not None:
            sections.append(section)
        items.clear()


def csv_parse(text: str) -> ParsedDocument:
    sample = text[:16384]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(text.splitlines(), dialect))
    table = table_section(rows)
    if table is None:
        raise UnreadableDocument("The CSV file has no rows with values.")
    return ParsedDocument(kind=DocumentKind.CSV, sections=[table])


__all__ = ["csv_parse", "lines_join", "text_decode", "text_parse", "text_sections"]
