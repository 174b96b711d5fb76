"""Plain text (hard-wrapped lines re-joined into paragraphs, FAQ markers) and CSV."""

import csv

from charset_normalizer import from_bytes

from workspaces.ingestion.parsing.formats import SUPPORTED
from workspaces.ingestion.parsing.structure import (
    BULLET,
    ORDERED,
    QUESTION_MARK,
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
    return ParsedDocument(
        kind=DocumentKind.TEXT, sections=text_sections(text), title=text_title(text)
    )


# A first line that reads as a title: short, not a sentence, not a list item or a question.
TITLE_MAX_CHARS = 120
TITLE_MAX_WORDS = 16
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to"}
ACRONYMS = {"FAQ", "FAQS", "IT", "HR", "UK", "US", "EU", "API", "SLA", "VPN", "PTO", "CEO"}


def text_title(text: str) -> str:
    """The text's own title: its first line, when that line is short, ends no sentence
    and is followed by a blank line, an underline or more lines; in capitals, it is
    written in title case (acronyms and codes kept)."""
    lines = [line.strip() for line in normalise(text).split("\n")]
    first = next((index for index, line in enumerate(lines) if line), None)
    if first is None:
        return ""
    line = lines[first].strip("#=*- ").strip()
    if (
        not line
        or len(line) > TITLE_MAX_CHARS
        or len(line.split()) > TITLE_MAX_WORDS
        or line[-1] in ".?!,;:"
        or BULLET.match(lines[first])
        or QUESTION_MARK.match(line)
    ):
        return ""
    if line.upper() == line and any(c.isalpha() for c in line):
        line = _title_case(line)
    return line


def _title_case(line: str) -> str:
    words = []
    for index, word in enumerate(line.split()):
        bare = word.strip(":,-()")
        if bare in ACRONYMS or any(c.isdigit() for c in word):
            words.append(word)
        elif index and bare.lower() in SMALL_WORDS:
            words.append(word.lower())
        else:
            words.append("-".join(part[:1] + part[1:].lower() for part in word.split("-")))
    return " ".join(words)


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
