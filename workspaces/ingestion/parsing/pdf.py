"""PDF: lines with their font size and weight (pypdf's layout text and its text visitor),
page headers and footers that repeat on every page dropped, headings from the outline or
else from font size and boldness, text-column tables from the layout's column gaps,
bulleted lists, and hard-wrapped lines re-joined into paragraphs, across page breaks too.
Pages without extractable text are read by OCR (workspaces.ingestion.parsing.ocr)."""

import io
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from workspaces.ingestion.parsing.structure import (
    BULLET,
    ORDERED,
    ParsedDocument,
    Section,
    UnreadableDocument,
    inline,
    line_continues,
    lines_join,
    list_section,
    table_section,
    wrap_width,
)
from workspaces.models import DocumentKind

# A table cell: words apart by one or two spaces; three or more in the layout text part
# columns.
CELL = re.compile(r"\S+(?:\s{1,2}\S+)*")
CAPTION = re.compile(r"^(table|tab\.|figure|fig\.)\s*[0-9ivx]+\b", re.I)
PAGE_NUMBER = re.compile(r"^(page\s*)?[0-9]+(\s*(of|/)\s*[0-9]+)?$|^[-–—]\s*[0-9]+\s*[-–—]$", re.I)
EDGE_LINES = 3  # how many lines at the top and bottom of a page may be header or footer
HEADING_MAX_CHARS = 150
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")


@dataclass
class Line:
    text: str
    page: int
    indent: int = 0
    size: float = 0.0
    bold: bool = False
    cells: tuple[tuple[int, str], ...] = ()  # (column offset, text) when a table row


def pdf_parse(data: bytes) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                "The PDF is password-protected. Remove the password and upload it again."
            )
        title = inline(str(reader.metadata.get("/Title") or "") if reader.metadata else "")
        outline = _outline_levels(reader)
        pages: list[list[Line]] = []
        ocr_confidence: dict[int, float] = {}
        ocr_text: dict[int, str] = {}
        for number, page in enumerate(reader.pages, start=1):
            lines = _page_lines(page, number)
            if not lines:
                from workspaces.ingestion.parsing.ocr import page_ocr

                recognised = page_ocr(page)
                if recognised is not None:
                    ocr_text[number], ocr_confidence[number] = recognised
            pages.append(lines)
        page_count = len(reader.pages)
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError):
        raise UnreadableDocument("The PDF is damaged and cannot be read.") from None
    _drop_running_lines(pages)
    sections = _sections(pages, outline, ocr_text)
    if not sections:
        raise UnreadableDocument(
            "The PDF has no extractable text, and none could be recognised in its images."
        )
    return ParsedDocument(
        kind=DocumentKind.PDF, sections=sections, pages=page_count, title=title,
        ocr_confidence=ocr_confidence,
    )  # fmt: skip


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _outline_levels(reader: Any) -> dict[str, int]:
    levels: dict[str, int] = {}

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            elif getattr(item, "title", None):
                levels.setdefault(_key(item.title), depth + 1)

    try:
        walk(reader.outline, 0)
    except Exception:  # a broken outline is no reason to refuse the text
        return {}
    return levels


def _page_lines(page: Any, number: int) -> list[Line]:
    styles: dict[str, tuple[float, bool]] = {}
    fragments: dict[int, list[tuple[float, str, float, bool]]] = {}

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        scale = abs(tm[3] * cm[3]) or abs(tm[0] * cm[0]) or 1.0
        name = str(font.get("/BaseFont", "")) if font else ""
        bold = bool(re.search(r"bold|black|heavy|semibold", name, re.I))
        y = round((tm[5] * cm[3]) + cm[5])
        fragments.setdefault(y, []).append((tm[4], text, size * scale, bold))

    plain = page.extract_text(visitor_text=visit) or ""
    for parts in fragments.values():
        parts.sort()
        text = " ".join(part[1] for part in parts)
        sized = max(parts, key=lambda part: len(part[1].strip()))
        styles[_key(text)] = (sized[2], all(part[3] for part in parts))
    try:
        layout = page.extract_text(extraction_mode="layout", layout_mode_space_vertically=False)
    except Exception:  # pypdf's layout mode is younger than its plain mode; fall back to it
        layout = plain
    lines = []
    for raw in layout.split("\n"):
        text = raw.rstrip()
        if not text.strip():
            continue
        key = _key(text)
        size, bold = styles.get(key) or _style_near(styles, key)
        stripped = text.strip()
        cells = tuple((match.start(), match.group(0)) for match in CELL.finditer(text))
        line = Line(
            text=inline(stripped), page=number, indent=len(text) - len(text.lstrip()),
            size=size, bold=bold,
            cells=cells if len(cells) > 1 and not BULLET.match(stripped) else (),
        )  # fmt: skip
        lines.append(line)
    return lines


def _style_near(styles: dict[str, tuple[float, bool]], key: str) -> tuple[float, bool]:
    for known, style in styles.items():
        if known.startswith(key[:24]) or key.startswith(known[:24]):
            return style
    return (0.0, False)


def _signature(text: str) -> str:
    return re.sub(r"[0-9]+", "#", _key(text))


def _drop_running_lines(pages: list[list[Line]]) -> None:
    """Drop page headers and footers: lines at a page's top or bottom that recur on most
    pages (numbers ignored, so "Page 2 of 9" recurs), and bare page numbers."""
    with_text = [lines for lines in pages if lines]
    if not with_text:
        return
    counts: Counter[str] = Counter()
    for lines in with_text:
        edges = {_signature(line.text) for line in lines[:EDGE_LINES] + lines[-EDGE_LINES:]}
        counts.update(edges)
    needed = max(2, (len(with_text) + 1) // 2)
    running = {signature for signature, count in counts.items() if count >= needed}
    for lines in with_text:
        edge = set(range(min(EDGE_LINES, len(lines)))) | set(
            range(max(0, len(lines) - EDGE_LINES), len(lines))
        )
        lines[:] = [
            line
            for index, line in enumerate(lines)
            if index not in edge
            or (_signature(line.text) not in running and not PAGE_NUMBER.match(line.text))
        ]


def _sections(
    pages: list[list[Line]], outline: dict[str, int], ocr_text: dict[int, str]
) -> list[Section]:
    from workspaces.ingestion.parsing.text import text_sections

    lines = [line for page in pages for line in page]
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size, 1)] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    levels = _heading_levels(lines, body)
    width = wrap_width([line.text for line in lines if round(line.size, 1) == body])
    context = "\n".join(line.text for line in lines)
    builder = _Builder(width=width, context=context)
    for number, page in enumerate(pages, start=1):
        if number in ocr_text:
            builder.flush()
            builder.sections.extend(
                text_sections(ocr_text[number], page=number, heading_path=builder.path)
            )
            continue
        index = 0
        while index < len(page):
            line = page[index]
            level = (
                outline.get(_key(line.text), 0)
                if outline
                else levels.get((round(line.size, 1), line.bold), 0)
            )
            if level and _may_be_heading(line, outline):
                builder.heading(line.text, level)
            elif line.cells and len(rows := _table_rows(page, index)) > 1:
                builder.table(rows)
                index += len(rows)
                continue
            elif BULLET.match(line.text):
                builder.item(line)
            else:
                builder.text(line)
            index += 1
    builder.flush()
    return builder.sections


def _table_rows(page: list[Line], start: int) -> list[Line]:
    """The rows of the text-column table from `start` on, one per line: lines of two cells
    or more, and a line of one cell that lies under a column other than the first of the row
    above (a header or cell wrapped onto a line of its own: "Duty and centre" /
    "managers")."""
    rows: list[Line] = []
    for line in page[start:]:
        if line.cells:
            rows.append(line)
        elif rows and _under_a_column(line, rows[-1]):
            rows.append(replace(line, cells=((line.indent, line.text),)))
        else:
            break
    return rows


def _under_a_column(line: Line, row: Line) -> bool:
    columns = [offset for offset, _ in row.cells]
    return (
        len(columns) > 1
        and not BULLET.match(line.text)
        and line.indent > columns[0]
        and any(abs(line.indent - column) <= 2 for column in columns[1:])
    )


def _may_be_heading(line: Line, outline: dict[str, int]) -> bool:
    if outline:
        return True
    return (
        len(line.text) <= HEADING_MAX_CHARS
        and not line.cells
        and not CAPTION.match(line.text)
        and not line.text.endswith((".", ",", ";"))
    )


def _heading_levels(lines: list[Line], body: float) -> dict[tuple[float, bool], int]:
    """Font styles that mark headings, by level: sizes larger than the body text's, largest
    first, then bold at the body's size."""
    styles: Counter[tuple[float, bool]] = Counter()
    for line in lines:
        size = round(line.size, 1)
        if len(line.text) <= HEADING_MAX_CHARS and (
            size >= body + 1 or (line.bold and size >= body)
        ):
            styles[(size, line.bold)] += 1
    ranked = sorted(styles, key=lambda style: (-style[0], not style[1]))
    return {style: level for level, style in enumerate(ranked, start=1)}


class _Builder:
    """Collects paragraphs, lists and tables under the current heading path."""

    def __init__(self, *, width: int, context: str) -> None:
        self.width, self.context = width, context
        self.sections: list[Section] = []
        self.headings: list[str] = []
        self.levels: list[int] = []
        self.paragraph: list[Line] = []
        self.items: list[list[Line]] = []

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.headings)

    def flush(self) -> None:
        if self.paragraph:
            for page, text in self._paragraph_by_page():
                self.sections.append(Section(text=text, page=page, heading_path=self.path))
            self.paragraph = []
        if self.items:
            texts = [lines_join([line.text for line in item], self.context) for item in self.items]
            ordered = all(ORDERED.match(text) for text in texts)
            section = list_section(
                texts, ordered=ordered, page=self.items[0][0].page, heading_path=self.path
            )
            self.sections.extend([section] if section is not None else [])
            self.items = []

    def _paragraph_by_page(self) -> list[tuple[int, str]]:
        """A paragraph running over a page break: each sentence on the page it starts on, so
        that sentences stay whole and citations name the right page."""
        lines = self.paragraph
        text = lines_join([line.text for line in lines], self.context)
        if lines[0].page == lines[-1].page:
            return [(lines[0].page, text)]
        starts = []  # (offset in text, page) where each further page's lines begin
        for index in range(1, len(lines)):
            if lines[index].page != lines[index - 1].page:
                before = lines_join([line.text for line in lines[:index]], self.context)
                starts.append((len(before), lines[index].page))
        parts: list[tuple[int, str]] = []
        offset = 0
        for sentence in SENTENCE_SPLIT.split(text):
            page = lines[0].page
            for start, later_page in starts:
                if offset >= start:
                    page = later_page
            if parts and parts[-1][0] == page:
                parts[-1] = (page, f"{parts[-1][1]} {sentence}")
            else:
                parts.append((page, sentence))
            offset += len(sentence) + 1
        return parts

    def heading(self, text: str, level: int) -> None:
        self.flush()
        while self.levels and self.levels[-1] >= level:
            self.levels.pop()
            self.headings.pop()
        self.levels.append(level)
        self.headings.append(text)

    def text(self, line: Line) -> None:
        if self.items:
            item = self.items[-1]
            if line.indent > item[0].indent or line_continues(item[-1].text, line.text, self.width):
                item.append(line)
                return
            self.flush()
        if self.paragraph:
            last = self.paragraph[-1]
            restyled = (round(last.size, 1), last.bold) != (round(line.size, 1), line.bold)
            if restyled or not line_continues(last.text, line.text, self.width):
                self.flush()
        self.paragraph.append(line)

    def item(self, line: Line) -> None:
        if self.paragraph:
            self.flush()
        self.items.append([line])

    def table(self, rows: list[Line]) -> None:
        caption = ""
        starts = [i for i, line in enumerate(self.paragraph) if CAPTION.match(line.text)]
        if starts:
            caption = lines_join([line.text for line in self.paragraph[starts[-1] :]])
            self.paragraph = self.paragraph[: starts[-1]]
        self.flush()
        columns = [offset for offset, _ in rows[0].cells]
        grid: list[list[str]] = []
        for row in rows:
            cells = [""] * len(columns)
            for offset, text in row.cells:
                nearest = min(range(len(columns)), key=lambda i: abs(columns[i] - offset))
                cells[nearest] = f"{cells[nearest]} {text}".strip()
            if grid and not cells[0]:
                # A cell's text wrapped onto a line of its own: it continues the row above.
                grid[-1] = [
                    f"{above} {below}".strip() for above, below in zip(grid[-1], cells, strict=True)
                ]
            else:
                grid.append(cells)
        section = table_section(grid, caption=caption, page=rows[0].page, heading_path=self.path)
        self.sections.extend([section] if section is not None else [])
