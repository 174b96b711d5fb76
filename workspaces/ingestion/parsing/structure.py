"""What every parser produces: sections of prose, tables and lists, with their page and
heading path, and the text rules they share (re-joining hard-wrapped lines, undoing
hyphenation at line ends, table rows that read on their own, FAQ pairs, list lead-ins)."""

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum


class UnreadableDocument(Exception):
    """The file cannot be indexed; the message says why in plain words."""


class SectionKind(StrEnum):
    PROSE = "prose"  # one paragraph, no line breaks
    TABLE = "table"  # one line per row: "Header: value · Header: value"
    LIST = "list"  # an optional lead-in line, then "- item" or "1. item" lines


@dataclass(frozen=True)
class Section:
    text: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    kind: SectionKind = SectionKind.PROSE
    caption: str = ""  # a table's caption, repeated at the top of each of its chunks


@dataclass(frozen=True)
class ParsedDocument:
    kind: str
    sections: list[Section]
    pages: int | None = None
    title: str = ""
    # Pages read by OCR: page number -> mean recognition confidence (0-1).
    ocr_confidence: dict[int, float] = field(default_factory=dict)


ROW_SEPARATOR = " · "
BULLET = re.compile(r"^\s*(?:[-*+•◦▪▫●○■□‣⁃∙·\x7f]|\(?[0-9]{1,2}[.)]|\(?[a-z][.)])\s+")
ORDERED = re.compile(r"^\s*\(?([0-9]{1,2})[.)]\s+")
QUESTION_MARK = re.compile(r"^\s*(?:Q|Question)\s*[:.)-]\s*", re.I)
ANSWER_MARK = re.compile(r"^\s*(?:A|Answer)\s*[:.)-]\s*", re.I)
SENTENCE_END = re.compile(r"[.!?:;)\]\"'’”]$")
LEAD_IN_MAX_WORDS = 60
QUESTION_MAX_CHARS = 200
# Word endings after which a hyphen at a line end is a break inside one word.
SUFFIXES = (
    "tion", "tions", "sion", "ment", "ments", "ing", "ings", "ed", "ly", "ness", "ity",
    "ities", "ance", "ence", "able", "ible", "al", "ally", "er", "ers", "ure", "ive", "ous",
    "ist", "ism", "ise", "ize", "ised", "ized", "age", "ary", "ory", "ful", "less", "est",
)  # fmt: skip


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace("\x00", "")
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def inline(text: str) -> str:
    """One line: every run of whitespace a single space."""
    return " ".join(normalise(text).split())


def table_section(
    rows: Sequence[Sequence[str]],
    *,
    caption: str = "",
    page: int | None = None,
    heading_path: tuple[str, ...] = (),
    header: bool = True,
) -> Section | None:
    """A table whose every row is one line that reads alone: the header row's cells are
    repeated into each row as "Header: value", empty cells left out."""
    cleaned = [[inline(cell) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return None
    caption = inline(caption)
    if header and len(cleaned) > 1:
        names, body = cleaned[0], cleaned[1:]
    else:
        names, body = [], cleaned
    lines = []
    for row in body:
        cells = []
        for index, value in enumerate(row):
            if not value:
                continue
            name = names[index] if index < len(names) else ""
            cells.append(f"{name}: {value}" if name and name != value else value)
        if cells:
            lines.append(ROW_SEPARATOR.join(cells))
    if not lines:
        return None
    path = (*heading_path, caption) if caption else heading_path
    return Section(
        text="\n".join(lines), page=page, heading_path=path, kind=SectionKind.TABLE,
        caption=caption,
    )  # fmt: skip


def list_section(
    items: Iterable[str],
    *,
    ordered: bool = False,
    page: int | None = None,
    heading_path: tuple[str, ...] = (),
) -> Section | None:
    cleaned = [BULLET.sub("", inline(item), count=1) for item in items]
    cleaned = [item for item in cleaned if item]
    if not cleaned:
        return None
    lines = [
        f"{number}. {item}" if ordered else f"- {item}"
        for number, item in enumerate(cleaned, start=1)
    ]
    return Section(
        text="\n".join(lines), page=page, heading_path=heading_path, kind=SectionKind.LIST
    )


def wrap_width(lines: Sequence[str]) -> int:
    """The width a text was wrapped at: the length most of its longer lines reach."""
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    if not lengths:
        return 0
    return lengths[max(0, int(len(lengths) * 0.9) - 1)]


def lines_reflow(lines: Sequence[str], context: str = "", width: int | None = None) -> list[str]:
    """Hard-wrapped lines -> paragraphs. A line is joined to the next unless it is blank,
    short for the text's wrap width and ends a sentence, or the next line starts a list item
    or an FAQ marker. Text whose lines are long (never wrapped) keeps each line apart."""
    stripped = [line.strip() for line in lines]
    width = width or wrap_width(stripped)
    if not width:
        return []
    wrapped = width <= 160
    paragraphs: list[str] = []
    current: list[str] = []
    for index, line in enumerate(stripped):
        if not line:
            _flush(current, paragraphs, context)
            continue
        if current and _starts_block(line):
            _flush(current, paragraphs, context)
        current.append(line)
        following = stripped[index + 1] if index + 1 < len(stripped) else ""
        if not following or not line_continues(line, following, width, wrapped):
            _flush(current, paragraphs, context)
    _flush(current, paragraphs, context)
    return paragraphs


def _starts_block(line: str) -> bool:
    return bool(BULLET.match(line) or QUESTION_MARK.match(line) or ANSWER_MARK.match(line))


def line_continues(line: str, following: str, width: int, wrapped: bool = True) -> bool:
    """Whether a hard-wrapped `line` runs on into `following`."""
    if _starts_block(following):
        return False
    if line.endswith("-") and following[:1].isalpha():
        return True
    if not SENTENCE_END.search(line) and following[:1].islower():
        return True  # a sentence running on, whatever the line's length
    return (
        wrapped and len(line) >= 0.7 * width and len(line) + len(following.split()[0]) > 0.8 * width
    )


def _flush(current: list[str], paragraphs: list[str], context: str) -> None:
    if current:
        paragraphs.append(lines_join(current, context))
        current.clear()


def lines_join(lines: Sequence[str], context: str = "") -> str:
    """Join wrapped lines with spaces; a hyphen at a line end is dropped when it splits one
    word ("pay-" + "roll"), kept in a compound ("fixed-" + "term")."""
    text = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        match = re.search(r"(\w+)-$", text)
        if match and line[:1].isalpha():
            head, tail = match.group(1), re.match(r"[\w'’]+", line)
            word = tail.group(0) if tail else ""
            text = text[:-1] if _hyphen_is_soft(head, word, context) else text
            text += line
        else:
            text = f"{text} {line}" if text else line
    return text


def _hyphen_is_soft(head: str, tail: str, context: str) -> bool:
    if not tail[:1].islower():
        return False
    joined, compound = f"{head}{tail}".lower(), f"{head}-{tail}".lower()
    lowered = context.lower()
    if context and re.search(rf"\b{re.escape(joined)}\b", lowered):
        return True
    if context and re.search(rf"\b{re.escape(compound)}\b", lowered):
        return False
    if _known_word(joined):
        return True
    return (tail.lower().endswith(SUFFIXES) and len(tail) <= 6) or len(head) <= 2


def _known_word(word: str) -> bool:
    """Whether `word` (or it without a plural or verb ending) is a whole word of the
    embedding model's vocabulary: thirty thousand common English words, already loaded."""
    from workspaces.embedding.backends import tokenizer_get

    vocabulary = tokenizer_get().get_vocab()
    endings = ("s", "es", "ed", "ing", "ment", "ments")
    stems = [word] + [word[: -len(end)] for end in endings if word.endswith(end)]
    return any(stem in vocabulary for stem in stems)


def sections_finish(sections: list[Section]) -> list[Section]:
    """Rules every format shares: a question paragraph followed by its answer becomes a
    heading (its answer's heading path ends with the question); a list takes the sentence
    that introduces it as its first line."""
    return _lists_with_lead_in(_faq_pairs(sections))


def _question(text: str) -> str:
    """The question a paragraph asks, or "" when it is not a question line."""
    marked = bool(QUESTION_MARK.match(text))
    question = QUESTION_MARK.sub("", text, count=1).strip().strip("*_ ").strip()
    if "\n" in question or len(question) > QUESTION_MAX_CHARS:
        return ""
    return question if question.endswith("?") or (marked and question) else ""


def _faq_pairs(sections: list[Section]) -> list[Section]:
    result: list[Section] = []
    open_question: tuple[tuple[str, ...], str] | None = None  # (outer path, question)
    for index, section in enumerate(sections):
        following = sections[index + 1] if index + 1 < len(sections) else None
        question = _question(section.text) if section.kind == SectionKind.PROSE else ""
        if (
            question
            and following is not None
            and following.kind != SectionKind.TABLE
            and following.heading_path == section.heading_path
            and not _question(following.text)
        ):
            open_question = (section.heading_path, question)
            continue
        if open_question is not None and section.heading_path == open_question[0]:
            text = ANSWER_MARK.sub("", section.text, count=1)
            section = replace(
                section, text=text, heading_path=(*open_question[0], open_question[1])
            )
        else:
            open_question = None
        result.append(section)
    return result


def _lists_with_lead_in(sections: list[Section]) -> list[Section]:
    result: list[Section] = []
    for section in sections:
        previous = result[-1] if result else None
        if (
            section.kind == SectionKind.LIST
            and previous is not None
            and previous.kind == SectionKind.PROSE
            and previous.heading_path == section.heading_path
        ):
            rest, lead_in = _last_sentences(previous.text)
            if rest:
                result[-1] = replace(previous, text=rest)
            else:
                result.pop()
            section = replace(section, text=f"{lead_in}\n{section.text}", page=previous.page)
        result.append(section)
    return result


def _last_sentences(text: str) -> tuple[str, str]:
    """(what comes before, the lead-in): the whole paragraph when short, else its last
    sentence."""
    if len(text.split()) <= LEAD_IN_MAX_WORDS:
        return "", text
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])", text)
    return " ".join(sentences[:-1]), sentences[-1]
