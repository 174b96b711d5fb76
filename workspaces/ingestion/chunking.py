"""Sections -> chunks measured in the embedding model's tokens, keeping structure whole.

The text of a chunk, a contract the answerer relies on:
- Prose: paragraphs separated by a blank line ("\\n\\n"); a paragraph is one line, its
  sentences never cut at a line break of the source (hard-wrapped PDF, Markdown and text
  lines are re-joined by the parsers, hyphenation at a line end undone). A paragraph longer
  than a chunk is split between sentences, with an overlap of CHUNK_OVERLAP_TOKENS.
- Tables: one line per row, readable alone: "Header1: value1 · Header2: value2 · ..." (the
  header row repeated into every row, empty cells left out). The table's caption, or else
  the nearest heading, is the last element of the chunk's heading path; a chunk of a table
  holds that table's rows only (never prose), starts with the caption line when the table
  has one, and a large table is split between rows.
- Lists: the sentence or line that introduces the list (its lead-in) first, then one item a
  line, "- item" (ordered lists "1. item"). A list longer than a chunk is split between
  items and each part starts with the lead-in again. A list may share a chunk with the
  paragraphs around it, separated by blank lines.
- FAQ pairs (a "Q:" line or a question line followed by its answer): the question is the
  last element of the heading path and the text is the answer alone, without an "A:"
  prefix; one pair per chunk (split between sentences only when it does not fit).
- Text with no breaks at all is split by tokens.
A chunk never spans two pages or two heading paths, so its citation stays exact.
"""

import re
from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from workspaces.embedding.backends import tokenizer_get
from workspaces.embedding.model import embedding_text
from workspaces.ingestion.parsing import Section, SectionKind

HEADING_SEPARATOR = " › "
PARAGRAPH_SEPARATOR = "\n\n"
# No "" separator: a chunk may run long rather than end inside a word; text that cannot be
# split at all is cut by tokens afterwards (_token_windows).
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "]
# A piece this many times a chunk's size found no separator: cut it by tokens.
OVERSIZED = 2
# Characters per token above which a run without sentence breaks counts as unbroken text.
UNBROKEN_CHARS_PER_TOKEN = 8
BREAKS = re.compile(r"\n|[.!?;](?:\s|$)")


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    page: int | None
    heading_path: str
    token_count: int

    @property
    def embedding_text(self) -> str:
        return embedding_text(heading_path=self.heading_path, text=self.text)


def token_count(text: str) -> int:
    # verbose=False: counting a long section is fine; only the model truncates at 256.
    return len(tokenizer_get().encode(text, add_special_tokens=False, verbose=False))


def _splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.CHUNK_TOKENS,
        chunk_overlap=settings.CHUNK_OVERLAP_TOKENS,
        length_function=token_count,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def sections_chunk(sections: list[Section]) -> list[ChunkDraft]:
    texts: list[tuple[str, int | None, tuple[str, ...]]] = []
    # A run of sections of one page and heading path, and of tables or of prose and lists.
    for (page, heading_path, is_table), run in groupby(
        sections, key=lambda s: (s.page, s.heading_path, s.kind == SectionKind.TABLE)
    ):
        members = list(run)
        pieces = _table_chunks(members) if is_table else _prose_chunks(members)
        texts.extend((text, page, heading_path) for text in pieces)
    drafts: list[ChunkDraft] = []
    for text, page, heading_path in texts:
        for piece in _token_windows(text):
            drafts.append(
                ChunkDraft(
                    ordinal=len(drafts),
                    text=piece,
                    page=page,
                    heading_path=HEADING_SEPARATOR.join(heading_path),
                    token_count=token_count(piece),
                )
            )
    return drafts


def _prose_chunks(sections: list[Section]) -> list[str]:
    units: list[str] = []
    for section in sections:
        if section.kind == SectionKind.LIST:
            units.extend(_list_parts(section.text))
        else:
            units.append(section.text)
    chunks: list[str] = []
    splittable: list[str] = []
    for unit in units:
        if not unit.strip():
            continue
        if _unbroken(unit):
            chunks.extend(_prose_split(splittable))
            splittable = []
            chunks.extend(_token_windows(unit))
        else:
            splittable.append(unit)
    return chunks + _prose_split(splittable)


def _prose_split(units: list[str]) -> list[str]:
    body = PARAGRAPH_SEPARATOR.join(units)
    if not body:
        return []
    if token_count(body) <= settings.CHUNK_TOKENS:
        return [body]
    return _splitter().split_text(body)


def _unbroken(text: str) -> bool:
    """A long text with no sentence or line breaks (a megabyte on one line): the splitter
    would measure it word by word, for minutes; it is cut by tokens instead."""
    longest = settings.CHUNK_TOKENS * UNBROKEN_CHARS_PER_TOKEN
    return len(text) > longest and max(len(part) for part in BREAKS.split(text)) > longest


def _list_parts(text: str) -> list[str]:
    """A list that fits a chunk stays one unit; a longer one is split between items, each
    part starting with the lead-in."""
    if token_count(text) <= settings.CHUNK_TOKENS:
        return [text]
    lines = text.split("\n")
    lead_in = "" if lines[0].startswith("- ") or lines[0][:1].isdigit() else lines.pop(0)
    budget = settings.CHUNK_TOKENS - token_count(lead_in)
    return [
        "\n".join([lead_in, *part]) if lead_in else "\n".join(part)
        for part in _packed(lines, budget)
    ]


def _table_chunks(sections: list[Section]) -> list[str]:
    chunks: list[str] = []
    for section in sections:
        rows = section.text.split("\n")
        caption = section.caption
        budget = settings.CHUNK_TOKENS - (token_count(caption) if caption else 0)
        for part in _packed(rows, budget):
            chunks.append("\n".join([caption, *part]) if caption else "\n".join(part))
    return chunks


def _packed(lines: list[str], budget: int) -> list[list[str]]:
    """Consecutive lines packed into parts of at most `budget` tokens (a longer line alone)."""
    parts: list[list[str]] = []
    used = budget + 1
    for line in lines:
        size = token_count(line) + 1
        if used + size > budget:
            parts.append([])
            used = 0
        parts[-1].append(line)
        used += size
    return parts


def _token_windows(text: str) -> list[str]:
    """Text that no separator could split (a long run without spaces) cut into windows of
    CHUNK_TOKENS tokens. Slices of the original text by the tokenizer's offsets: the model's
    tokenizer is uncased, so decoding tokens would lower-case the text."""
    limit = settings.CHUNK_TOKENS
    if len(text) < limit * OVERSIZED:
        return [text]
    if token_count(text) <= limit * OVERSIZED:
        return _character_windows(text)
    offsets = tokenizer_get()(text, add_special_tokens=False, return_offsets_mapping=True,
                              verbose=False)["offset_mapping"]  # fmt: skip
    step = limit - settings.CHUNK_OVERLAP_TOKENS
    windows = []
    for start in range(0, len(offsets), step):
        window = offsets[start : start + limit]
        windows.extend(_character_windows(text[window[0][0] : window[-1][1]].strip()))
        if start + limit >= len(offsets):
            break
    return [window for window in windows if window]


def _character_windows(text: str) -> list[str]:
    """The tokenizer reads a "word" over 100 characters as one unknown token: such text is
    cut by characters, at about four to a token."""
    size = settings.CHUNK_TOKENS * 4
    if len(text) <= size * OVERSIZED:
        return [text]
    return [text[start : start + size] for start in range(0, len(text), size)]
