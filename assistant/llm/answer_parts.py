"""What an extractive answer is made of, whichever scorer chose it: the parts it says
(a sentence, a table's rows with their caption, a list's lead-in and items) and how a
sentence is read whole: with the sentence its pronoun points back to, and across the chunk
boundary that cut it."""

import re
from dataclasses import dataclass

from django.db import connection

from assistant.llm.passage_units import Unit, passage_units
from assistant.llm.provider import Passage
from workspaces.selectors import chunk_texts_beside

REFERRING = re.compile(r"^(it|its|they|their|this|these|that|those|he|she|his|her)\b", re.I)
# A sentence cut by a chunk boundary: one that starts in lower case, or does not end.
ENDED = re.compile(r"[.!?;:)\]\"'’”]\s*$")


@dataclass(frozen=True)
class Part:
    """One piece of the answer: a sentence, a table row with its headers, or a list's
    lead-in and items, with the passage it cites."""

    passage: int
    position: int
    text: str
    quotes: tuple[str, ...]


def parts_unrepeated(parts: list[Part]) -> list[Part]:
    """The parts without any whose every unit another part says (a list's lead-in and one
    item from one chunk beside the whole list from the chunk that overlaps it), in their
    order; of two that say each other's units, the first."""
    plain = [" ".join(part.text.split()) for part in parts]
    quotes = [[" ".join(q.split()) for q in part.quotes or (part.text,)] for part in parts]

    def says(other: int, index: int) -> bool:
        return all(quote in plain[other] for quote in quotes[index])

    return [
        part
        for index, part in enumerate(parts)
        if not any(
            other != index and says(other, index) and (not says(index, other) or other < index)
            for other in range(len(parts))
        )
    ]


def key_of(unit: Unit) -> tuple[int, int]:
    return (unit.passage, unit.position)


def antecedent(unit: Unit, units: list[Unit]) -> Unit | None:
    """The sentence before one that opens with a pronoun, so that "It was completed in
    1904" is read with what "it" is."""
    if unit.kind != "sentence" or not REFERRING.match(unit.text) or unit.position == 0:
        return None
    previous = units[unit.position - 1]
    return previous if previous.kind == "sentence" else None


def text_lexemes(texts: list[str], language: str) -> list[set[str]]:
    """Each text's words as the workspace's text-search configuration stems them, stop
    words left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, t)) FROM unnest(%s::text[])"
            " WITH ORDINALITY AS x(t, i) ORDER BY i",
            [language, texts],
        )
        return [set(row[0]) for row in cursor.fetchall()]


def caption_of(text: str) -> str:
    return re.sub(r"^\s*\d{1,2}[.)]\s+", "", text).strip().rstrip(":")


def sentence_completed(unit: Unit, passage: Passage, units: list[Unit], language: str) -> str:
    """A sentence cut where the chunk starts or ends, completed from the chunk beside it."""
    head_cut = unit.text[:1].islower() and all(not u.answerable for u in units[: unit.position])
    tail_cut = not ENDED.search(unit.text) and all(
        u.kind == "label" for u in units[unit.position + 1 :]
    )
    if not (head_cut or tail_cut):
        return unit.text
    before, after = chunk_texts_beside(
        document_id=passage.chunk.document_id,
        workspace_id=passage.chunk.workspace_id,
        ordinal=passage.chunk.ordinal,
    )
    text = unit.text
    if head_cut and before is not None:
        text = joined_across(before, passage.chunk.text, text, language, head=True)
    if tail_cut and after is not None:
        text = joined_across(passage.chunk.text, after, text, language, head=False)
    return text


def joined_across(first: str, second: str, fragment: str, language: str, *, head: bool) -> str:
    """The whole sentence `fragment` is part of, read across two neighbouring chunks (which
    may overlap by a few lines)."""
    lines_a, lines_b = first.splitlines(), second.splitlines()
    overlap = 0
    for size in range(min(len(lines_a), len(lines_b)), 0, -1):
        if lines_a[-size:] == lines_b[:size]:
            overlap = size
            break
    merged = passage_units("\n".join(lines_a + lines_b[overlap:]), passage=0, language=language)
    wanted = " ".join(fragment.split())
    for unit in merged:
        if (
            unit.answerable
            and wanted in " ".join(unit.text.split())
            and len(unit.text) > len(wanted)
        ):
            return unit.text
    # Page furniture between the halves kept them apart: join the unfinished sentence of
    # one chunk to the fragment that begins the other.
    if head:
        tail = [u for u in passage_units(first, passage=0, language=language) if u.answerable]
        if tail and not ENDED.search(tail[-1].text):
            return f"{tail[-1].text} {fragment}"
    else:
        lead = [u for u in passage_units(second, passage=0, language=language) if u.answerable]
        if lead and lead[0].text[:1].islower():
            return f"{fragment} {lead[0].text}"
    return fragment
