"""The offline provider: no model writes anything. It picks, from the retrieved passages,
the few sentences that answer the question best and streams them with their markers.

A sentence's score mixes its embedding similarity to the question (all-MiniLM-L6-v2, the
retrieval model) with how much of the question's weight (IDF from the organization's term
statistics) it contains. Only the sentences most likely to matter are embedded, because
embedding every sentence of every passage would cost more than the retrieval itself. The
selection is diversified (maximal marginal relevance) so the answer does not repeat itself,
and below a relevance threshold the provider says plainly that it found nothing.
"""

import asyncio
import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pysbd  # type: ignore[import-untyped]
from django.conf import settings
from django.db import connection

from assistant.embeddings import embeddings_get
from assistant.llm import NOT_FOUND, Passage, Prepared, Turn, Usage

# A follow-up that leans on the previous question ("and for contractors?", "what about it?").
FOLLOW_UP = re.compile(
    r"^\s*(and|or|but|also|what about|how about|then|so)\b|\b(it|its|they|them|their|this|that|"
    r"these|those|he|she|there)\b",
    re.IGNORECASE,
)
LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#+)\s+")
MIN_WORDS = 4


@dataclass(frozen=True)
class Sentence:
    passage: int  # passage number
    position: int  # order within the passage
    text: str


@dataclass(frozen=True)
class Plan:
    answered: bool
    sentences: tuple[Sentence, ...]


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    code = {"english": "en", "french": "fr", "german": "de", "spanish": "es", "italian": "it"}
    return pysbd.Segmenter(language=code.get(language, "en"), clean=False)


def sentences_split(text: str, *, passage: int, language: str) -> list[Sentence]:
    """Lines first (lists and headings are lines), then sentences within each line."""
    found: list[Sentence] = []
    segmenter = _segmenter(language)
    for line in text.splitlines():
        line = LIST_MARK.sub("", line).strip()
        if not line:
            continue
        for piece in segmenter.segment(line):
            piece = piece.strip()
            words = len(piece.split())
            # A question (an FAQ's "Q: ...") or a heading-like line is not an answer.
            if words < MIN_WORDS or piece.endswith("?") or (words < 8 and piece[-1] not in ".!:;)"):
                continue
            found.append(Sentence(passage, len(found), piece))
    return found


def condense_by_history(question: str, history: Sequence[Turn]) -> str:
    """Without a model, a short or referring follow-up is searched together with the
    previous question, so "and for contractors?" finds the passage the first one did."""
    if not history:
        return question
    if len(question.split()) <= 6 or FOLLOW_UP.search(question):
        return f"{history[-1].question} {question}"
    return question


def _lexemes(texts: list[str], language: str) -> list[set[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, t)) FROM unnest(%s::text[])"
            " WITH ORDINALITY AS x(t, i) ORDER BY i",
            [language, texts],
        )
        return [set(row[0]) for row in cursor.fetchall()]


def _idf(lexemes: set[str]) -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT greatest(chunk_count, 1) FROM assistant_corpusstat WHERE id = 1")
        row = cursor.fetchone()
        total = float(row[0]) if row else 1.0
        cursor.execute(
            "SELECT lexeme, chunk_count FROM assistant_termstat WHERE lexeme = ANY(%s)",
            [list(lexemes)],
        )
        counts = dict(cursor.fetchall())
    # A lexeme no chunk has gets the highest weight; it cannot be matched anyway.
    return {
        lexeme: math.log(1 + (total - counts.get(lexeme, 0) + 0.5) / (counts.get(lexeme, 0) + 0.5))
        for lexeme in lexemes
    }


def answer_plan(*, question: str, passages: Sequence[Passage], language: str) -> Plan:
    """Choose the answer's sentences (sync: reads term statistics)."""
    candidates = [
        sentence
        for passage in passages
        for sentence in sentences_split(
            passage.chunk.text, passage=passage.number, language=language
        )
    ]
    if not candidates:
        return Plan(False, ())
    lexeme_sets = _lexemes([question] + [s.text for s in candidates], language)
    question_lexemes, sentence_lexemes = lexeme_sets[0], lexeme_sets[1:]
    idf = _idf(question_lexemes) if question_lexemes else {}
    weight_total = sum(idf.values()) or 1.0
    overlap = np.array(
        [sum(idf[x] for x in question_lexemes & found) / weight_total for found in sentence_lexemes]
    )
    rank_of = {passage.number: rank for rank, passage in enumerate(passages)}
    prior = np.array([1 / (1 + rank_of[s.passage]) for s in candidates])
    shortlist = np.argsort(-(overlap + 0.25 * prior), kind="stable")[
        : settings.ASSISTANT_EXTRACTIVE_SHORTLIST
    ]
    embeddings = embeddings_get()
    vectors = np.asarray(
        embeddings.embed_documents([question] + [candidates[i].text for i in shortlist])
    )
    question_vector, sentence_vectors = vectors[0], vectors[1:]
    similarity = sentence_vectors @ question_vector
    scores = (
        settings.ASSISTANT_EXTRACTIVE_SIMILARITY_WEIGHT * similarity
        + (1 - settings.ASSISTANT_EXTRACTIVE_SIMILARITY_WEIGHT) * overlap[shortlist]
        + 0.05 * prior[shortlist]
    )
    best = int(np.argmax(scores))
    if scores[best] < settings.ASSISTANT_EXTRACTIVE_MIN_SCORE:
        return Plan(False, ())
    chosen = [best]
    # Maximal marginal relevance: good sentences that say something the chosen ones do not.
    while len(chosen) < settings.ASSISTANT_EXTRACTIVE_MAX_SENTENCES:
        redundancy = (sentence_vectors @ sentence_vectors[chosen].T).max(axis=1)
        marginal = 0.7 * scores - 0.3 * redundancy
        marginal[chosen] = -np.inf
        pick = int(np.argmax(marginal))
        if scores[pick] < settings.ASSISTANT_EXTRACTIVE_KEEP_RATIO * scores[best]:
            break
        if redundancy[pick] > 0.9:  # a near copy of a chosen sentence
            break
        chosen.append(pick)
    picked = [candidates[int(shortlist[i])] for i in chosen]
    # Read in passage order, then in the passage's own order, like a short paragraph.
    picked.sort(key=lambda s: (rank_of[s.passage], s.position))
    return Plan(True, tuple(picked))


class ExtractiveProvider:
    name = "extractive"

    async def acondense(self, *, question: str, history: Sequence[Turn]) -> str:
        return condense_by_history(question, history)

    def prepare(
        self, *, question: str, passages: Sequence[Passage], history: Sequence[Turn], language: str
    ) -> Prepared:
        plan = answer_plan(question=question, passages=passages, language=language)
        return Prepared(question=question, passages=passages, history=history, plan=plan)

    async def astream(self, prepared: Prepared) -> AsyncIterator[str | Usage]:
        plan = prepared.plan
        assert isinstance(plan, Plan)
        if not plan.answered:
            yield NOT_FOUND
            yield Usage(model="extractive", answered=False)
            return
        quotes: dict[int, list[str]] = {}
        delay = settings.ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS / 1000
        for index, sentence in enumerate(plan.sentences):
            quotes.setdefault(sentence.passage, []).append(sentence.text)
            words = sentence.text.split(" ")
            # A few words at a time, at reading pace: the answer is there at once, but a
            # screen that fills in steps reads as an answer being given.
            for start in range(0, len(words), 6):
                prefix = " " if index and start == 0 else ""
                tail = " " if start + 6 < len(words) else ""
                yield prefix + " ".join(words[start : start + 6]) + tail
                if delay:
                    await asyncio.sleep(delay)
            yield f" [{sentence.passage}]"
        yield Usage(model="extractive", quotes=quotes)
