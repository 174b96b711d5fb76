"""A passage read the way a person reads it: prose re-joined into whole sentences, table
rows with their headers, list items with their lead-in, FAQ questions as labels of the
answers below them. The extractive answerer picks among these units; the vertex prompt
shows tables as Markdown tables.

Chunk texts come in two shapes and both are read here:
- structured (the ingestion contract): rows as `Header: value · Header: value`, list
  items as lines starting `- ` or `1. `, prose lines already whole;
- raw (older chunks): hard-wrapped lines, rows as `a | b | c` or as space-separated
  columns under a header line, list items as bare lines after a line ending in `:`,
  `Q:`/`A:` prefixes.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache

import pysbd  # type: ignore[import-untyped]

# List markers, with the bullets PDF fonts extract as private-use or control characters.
ITEM_MARK = re.compile(r"^\s*(?:[-*+•\u2022\u25aa\u25e6\u2013\uf0b7\x7f]|\d{1,2}[.)])\s+")
NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s+")
QUESTION_MARK = re.compile(r"^\s*(?:Q|Question)\s*[:.)]\s*", re.IGNORECASE)
ANSWER_MARK = re.compile(r"^\s*(?:A|Answer)\s*[:.)]\s*", re.IGNORECASE)
CELL_SEP = " · "
PIPE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
LABELLED_CELL = re.compile(r"^([^:·|]{1,60}):\s+(.+)$")
# A term defined in a list line: "Public: approved for anyone to see."
TERM_ITEM = re.compile(r"^[A-Z][\w'&()/ -]{0,40}:\s+\S")
CAPTION = re.compile(r"^(table|figure)\s+\d+\b", re.IGNORECASE)
PAGE_NOISE = re.compile(r"^\s*(page\s+\d+(\s+of\s+\d+)?|\d+\s*/\s*\d+)\s*$", re.IGNORECASE)
END = ".!?"
SENTENCE_BREAK = re.compile(r"[a-z]{2}[.!?] [A-Z]")
MIN_WORDS = 4


@dataclass(frozen=True)
class Unit:
    """One thing an answer can quote (a sentence, a row, a list item or lead-in) or a label
    that only gives context (a heading, a caption, an FAQ question)."""

    passage: int
    position: int
    kind: str  # sentence | row | item | lead | label
    text: str  # as quoted in an answer
    block: int = -1  # the table or list this unit belongs to (a lead: the list it opens)
    # What the unit is about when read alone: the label above it, a list's lead-in, a
    # row's table caption.
    context: str = ""
    cells: tuple[tuple[str, str], ...] = ()  # a row: (header, value) pairs

    @property
    def answerable(self) -> bool:
        return self.kind != "label"


@dataclass
class _Reader:
    passage: int
    language: str
    units: list[Unit] = field(default_factory=list)
    blocks: int = 0
    label: str = ""

    def add(self, kind: str, text: str, **extra: object) -> Unit:
        unit = Unit(self.passage, len(self.units), kind, text, **extra)  # type: ignore[arg-type]
        self.units.append(unit)
        return unit

    def block(self) -> int:
        self.blocks += 1
        return self.blocks


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    code = {"english": "en", "french": "fr", "german": "de", "spanish": "es", "italian": "it"}
    return pysbd.Segmenter(language=code.get(language, "en"), clean=False)


def _words(text: str) -> int:
    return len(text.split())


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(tuple(END)) or text.rstrip().endswith((".)", '."', ".'"))


def _row_cells(line: str) -> list[str] | None:
    """The cells of a delimited table row (`a | b`, `| a | b |`), or None."""
    if line.count("|") < 2 and " | " not in line:
        return None
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return cells if len(cells) >= 2 else None


def _labelled_row(line: str) -> tuple[tuple[str, str], ...] | None:
    """`Header: value · Header: value` (the ingestion contract), or None."""
    if CELL_SEP not in line:
        return None
    cells = []
    for part in line.split(CELL_SEP):
        match = LABELLED_CELL.match(part.strip())
        if not match:
            return None
        cells.append((match.group(1).strip(), match.group(2).strip()))
    return tuple(cells) if len(cells) >= 2 else None


def _columns_like(line: str) -> bool:
    """A line of a table drawn as text columns: short, no sentence end, a figure in it."""
    stripped = line.strip()
    return (
        2 <= _words(stripped) <= 12
        and not stripped.endswith(tuple(END + ":;,"))
        and not ITEM_MARK.match(stripped)
        and not stripped[0].islower()
        and ". " not in stripped
        and CELL_SEP not in stripped
        and "|" not in stripped
        and bool(re.search(r"\d", stripped))
    )


def row_line(cells: tuple[tuple[str, str], ...]) -> str:
    return CELL_SEP.join(f"{header}: {value}" for header, value in cells if value)


def passage_units(
    text: str, *, passage: int, language: str = "english", heading: str = ""
) -> list[Unit]:
    """`heading`: the chunk's heading path; its last element labels the first units (an FAQ
    question, a table's caption)."""
    reader = _Reader(passage, language)
    reader.label = heading.split(" › ")[-1].strip() if heading else ""
    lines = [line.rstrip() for line in text.splitlines()]
    index = 0
    prose: list[str] = []

    def flush_prose() -> None:
        if prose:
            _prose(reader, " ".join(prose))
            prose.clear()

    while index < len(lines):
        line = lines[index].strip()
        if not line or PAGE_NOISE.match(line) or PIPE_SEPARATOR.match(line):
            flush_prose()
            index += 1
            continue
        if QUESTION_MARK.match(line) or (line.endswith("?") and _words(line) <= 25):
            flush_prose()
            question = QUESTION_MARK.sub("", line)
            reader.label = question
            reader.add("label", question)
            index += 1
            continue
        if ANSWER_MARK.match(line):
            flush_prose()
            line = ANSWER_MARK.sub("", line)
        labelled = _labelled_row(line)
        cells = None if labelled else _row_cells(line)
        if labelled or cells:
            flush_prose()
            index = _table(reader, lines, index)
            continue
        if ITEM_MARK.match(line) and not _is_numbered_heading(lines, index):
            if prose and lines[index - 1].strip():
                # Prose right above the items, with no blank line between, is their lead-in
                # (workspaces.ingestion.chunking keeps a list with the line that opens it).
                lead_text = " ".join(prose)
                prose.clear()
                index = _lead_and_list(reader, lines, index, lead_text)
                continue
            flush_prose()
            index = _list(reader, lines, index, lead="")
            continue
        if not CAPTION.match(line) and _columns_start(lines, index):
            flush_prose()
            index = _column_table(reader, lines, index, caption=reader.label)
            continue
        if _is_heading(lines, index):
            flush_prose()
            reader.label = line
            reader.add("label", line)
            index += 1
            continue
        prose.append(line)
        index += 1
        if line.endswith(":") and index < len(lines) and _list_follows(lines, index):
            lead_text = " ".join(prose)
            prose.clear()
            index = _lead_and_list(reader, lines, index, lead_text)
    flush_prose()
    return reader.units


def _is_numbered_heading(lines: list[str], index: int) -> bool:
    """ "3. Requesting leave" above prose, not an item of a numbered list."""
    line = lines[index].strip()
    if not NUMBERED.match(line) or _words(line) > 7 or _ends_sentence(line) or line.endswith(";"):
        return False
    after = next((x.strip() for x in lines[index + 1 :] if x.strip()), "")
    return not NUMBERED.match(after)


def _is_heading(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if CAPTION.match(line) and not line.endswith(tuple(END)):
        return True
    if _words(line) > 10 or line.endswith(tuple(END + ":;,")) or ITEM_MARK.match(line):
        return _is_numbered_heading(lines, index)
    after = next((x.strip() for x in lines[index + 1 :] if x.strip()), "")
    # A short line whose next line starts a new sentence (or nothing follows): a heading
    # or caption. A wrapped line of prose is followed by its lower-case continuation.
    return not after or after[0].isupper() or after[0].isdigit() or after[0] in "|-*•\uf0b7"


def _columns_start(lines: list[str], index: int) -> bool:
    """Three or more column-like lines in a row: a table drawn as text."""
    run = 0
    for line in lines[index:]:
        header = run == 0 and _header_like(line)
        if not line.strip() or not (_columns_like(line) or header):
            break
        run += 1
    return run >= 3


def _header_like(line: str) -> bool:
    stripped = line.strip()
    return (
        2 <= _words(stripped) <= 10
        and not stripped.endswith(tuple(END + ":;,"))
        and not SENTENCE_BREAK.search(stripped)
        and not stripped[0].islower()
    )


def _column_table(reader: _Reader, lines: list[str], index: int, *, caption: str) -> int:
    header = lines[index].strip()
    block = reader.block()
    context = caption
    index += 1
    while index < len(lines) and lines[index].strip() and _columns_like(lines[index]):
        row = lines[index].strip()
        # Without cell boundaries the header is given whole, before the row.
        reader.add("row", f"{header}: {row}", block=block, context=context, cells=(("", header),))
        index += 1
    return index


def _table(reader: _Reader, lines: list[str], index: int) -> int:
    """Consecutive delimited or labelled rows; a delimited table's first row is its header."""
    block = reader.block()
    caption = reader.label
    header: list[str] | None = None
    while index < len(lines):
        line = lines[index].strip()
        if PIPE_SEPARATOR.match(line) and line:
            index += 1
            continue
        labelled = _labelled_row(line)
        cells = None if labelled else _row_cells(line)
        if labelled:
            reader.add("row", row_line(labelled), block=block, context=caption, cells=labelled)
        elif cells:
            if header is None:
                header = cells
            else:
                pairs = tuple(zip(header, cells, strict=False))
                reader.add("row", row_line(pairs), block=block, context=caption, cells=pairs)
        else:
            break
        index += 1
    return index


def _list_follows(lines: list[str], index: int) -> bool:
    after = next((x.strip() for x in lines[index:] if x.strip()), "")
    return bool(after) and (
        bool(ITEM_MARK.match(after))
        or bool(TERM_ITEM.match(after))
        or not _ends_sentence(after)
        or after[0].islower()
    )


def _lead_and_list(reader: _Reader, lines: list[str], index: int, lead_text: str) -> int:
    """Sentences before the lead-in are prose; the lead-in opens the list below it."""
    sentences = _sentences(reader, lead_text)
    for sentence in sentences[:-1]:
        _sentence(reader, sentence)
    return _list(reader, lines, index, lead=sentences[-1] if sentences else lead_text)


def _list(reader: _Reader, lines: list[str], index: int, *, lead: str) -> int:
    block = reader.block()
    context = lead or reader.label
    if lead:
        reader.add("lead", lead, block=block, context=reader.label)
    marked = bool(ITEM_MARK.match(lines[index].strip()))
    items: list[str] = []
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            break
        if ITEM_MARK.match(line):
            if _is_numbered_heading(lines, index) and not NUMBERED.match(lines[index - 1]):
                break  # the next section's numbered heading after a bulleted list
            items.append(ITEM_MARK.sub("", line))
        elif marked:
            # An item's wrapped continuation, or the prose after the list.
            if items and (line[0].islower() or not _ends_sentence(items[-1])):
                items[-1] += " " + line
            else:
                break
        else:
            ends_list = _ends_sentence(line) and line[0].isupper() and not TERM_ITEM.match(line)
            if ends_list and not (items and items[-1].endswith(";")):
                break
            items.append(line)
            if ends_list or (_ends_sentence(line) and not TERM_ITEM.match(line)):
                index += 1
                break
        index += 1
    for item in items:
        reader.add("item", item, block=block, context=context)
    return index


def _sentences(reader: _Reader, text: str) -> list[str]:
    return [s.strip() for s in _segmenter(reader.language).segment(text) if s.strip()]


def _sentence(reader: _Reader, sentence: str) -> None:
    words = _words(sentence)
    short = words < MIN_WORDS or (words < 8 and sentence[-1] not in ".!:;)")
    if short or sentence.endswith("?"):
        reader.label = sentence
        reader.add("label", sentence)
    else:
        reader.add("sentence", sentence, context=reader.label)


def _prose(reader: _Reader, paragraph: str) -> None:
    for sentence in _sentences(reader, paragraph):
        _sentence(reader, sentence)


def unit_text(unit: Unit) -> str:
    """The unit as searched and scored: a row with its caption, an item with its lead-in."""
    if unit.kind in ("row", "item") and unit.context:
        return f"{unit.context} {unit.text}"
    return unit.text


def markdown_tables(text: str) -> str:
    """A passage for a model: rows of a table as a Markdown table, the rest as it is."""
    out: list[str] = []
    rows: list[tuple[tuple[str, str], ...]] = []

    def flush() -> None:
        if not rows:
            return
        headers = list(dict.fromkeys(h for row in rows for h, _ in row))
        out.append("| " + " | ".join(headers) + " |")
        out.append("|" + "---|" * len(headers))
        for row in rows:
            values = dict(row)
            out.append("| " + " | ".join(values.get(h, "") for h in headers) + " |")
        rows.clear()

    for line in text.splitlines():
        cells = _labelled_row(line.strip())
        if cells:
            rows.append(cells)
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out)
