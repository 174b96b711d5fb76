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
from pgvector import Vector

from assistant.llm import NOT_FOUND, Passage, Prepared, Turn, Usage
from workspaces.embeddings import embeddings_get

# A follow-up that leans on the previous question ("and for contractors?", "what about it?").
FOLLOW_UP = re.compile(
    r"^\s*(and|or|but|also|what about|how about|then|so)\b|\b(it|its|they|them|their|this|that|"
    r"these|those|he|she|there)\b",
    re.IGNORECASE,
)
REFERRING = re.compile(r"^(it|its|they|their|this|these|that|those|he|she|his|her)\b", re.I)
LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#+)\s+")
MIN_WORDS = 4


@dataclass(frozen=True)
class Sentence:
    passage: int  # passage number
    position: int  # order within the passage
    text: str
    # False for a question ("Q: ...") or a heading-like line: context, never an answer.
    answerable: bool = True


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
            if not piece:
                continue
            words = len(piece.split())
            answerable = not (
                words < MIN_WORDS or piece.endswith("?") or (words < 8 and piece[-1] not in ".!:;)")
            )
            found.append(Sentence(passage, len(found), piece, answerable))
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


def _antecedents(
    picked: list[Sentence], passages: Sequence[Passage], language: str
) -> list[Sentence]:
    """The sentence before each picked one that opens with a pronoun, so that "It was
    completed in 1904" is read with what "it" is."""
    chosen = {(s.passage, s.position) for s in picked}
    added: list[Sentence] = []
    for sentence in picked:
        if not REFERRING.match(sentence.text) or sentence.position == 0:
            continue
        if (sentence.passage, sentence.position - 1) in chosen:
            continue
        passage = next(p for p in passages if p.number == sentence.passage)
        before = sentences_split(passage.chunk.text, passage=passage.number, language=language)
        previous = next((s for s in before if s.position == sentence.position - 1), None)
        if previous is not None and previous.answerable:
            added.append(previous)
            chosen.add((previous.passage, previous.position))
    return added


@dataclass(frozen=True)
class Features:
    """Per candidate sentence (after the shortlist): what the score is made of."""

    candidates: list[Sentence]
    similarity: np.ndarray  # sentence embedding . question embedding
    overlap: np.ndarray  # share of the question's IDF weight in the sentence
    context_overlap: np.ndarray  # ... in the sentence, the one before it and the heading
    passage_similarity: np.ndarray  # the sentence's passage embedding . question embedding
    passage_coverage: np.ndarray  # share of the question's IDF weight in the whole passage
    vectors: np.ndarray  # sentence embeddings, for diversification


def _passage_similarity(question_vector: Sequence[float], chunk_ids: list[int]) -> dict[int, float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, 1 - (embedding <=> %s::vector) FROM assistant_chunk WHERE id = ANY(%s)",
            [Vector(list(question_vector)).to_text(), chunk_ids],
        )
        return {int(row[0]): float(row[1]) for row in cursor.fetchall()}


def sentence_features(
    *,
    question: str,
    passages: Sequence[Passage],
    language: str,
    question_vector: Sequence[float],
    focus: str = "",
) -> Features | None:
    """`question` (as searched) decides passage relevance; `focus`, when given (a follow-up
    as typed, before it was joined with the previous question), is what the sentences
    must answer, so "and can I carry them over?" is not answered about vacation again."""
    sentences = [
        sentence
        for p in passages
        for sentence in sentences_split(p.chunk.text, passage=p.number, language=language)
    ]
    if not any(s.answerable for s in sentences):
        return None
    texts = [question, focus or question]
    texts += [p.chunk.heading_path + "\n" + p.chunk.text for p in passages]
    lexeme_sets = _lexemes(texts + [s.text for s in sentences], language)
    question_lexemes, focus_lexemes = lexeme_sets[0], lexeme_sets[1] or lexeme_sets[0]
    passage_lexemes = dict(
        zip((p.number for p in passages), lexeme_sets[2 : len(texts)], strict=True)
    )
    all_lexemes = lexeme_sets[len(texts) :]
    # The sentence before counts as context even when it cannot be an answer itself (the
    # FAQ's question line above its answer).
    # So does the last question or heading line above it within the passage.
    context_lexemes = []
    label: set[str] = set()
    for index, (sentence, found) in enumerate(zip(sentences, all_lexemes, strict=True)):
        if sentence.position == 0:
            label = set()
        before = all_lexemes[index - 1] if sentence.position else set()
        context_lexemes.append(found | before | label)
        if not sentence.answerable:
            label = found
    keep = [index for index, sentence in enumerate(sentences) if sentence.answerable]
    candidates = [sentences[index] for index in keep]
    sentence_lexemes = [all_lexemes[index] for index in keep]
    around_lexemes = [context_lexemes[index] for index in keep]
    heading_lexemes = dict(
        zip(
            (p.number for p in passages),
            _lexemes([p.chunk.heading_path for p in passages], language),
            strict=True,
        )
    )
    idf = _idf(question_lexemes | focus_lexemes)

    def coverage(found: set[str], wanted: set[str] = question_lexemes) -> float:
        total = sum(idf[x] for x in wanted) or 1.0
        return sum(idf[x] for x in wanted & found) / total

    overlap = np.array([coverage(found, focus_lexemes) for found in sentence_lexemes])
    context_overlap = np.array(
        [
            coverage(around | heading_lexemes[sentence.passage], focus_lexemes)
            for sentence, around in zip(candidates, around_lexemes, strict=True)
        ]
    )
    similarity_of = _passage_similarity(question_vector, [p.chunk.chunk_id for p in passages])
    number_to_chunk = {p.number: p.chunk.chunk_id for p in passages}
    passage_similarity = np.array([similarity_of[number_to_chunk[s.passage]] for s in candidates])
    passage_coverage = np.array([coverage(passage_lexemes[s.passage]) for s in candidates])
    # Embedding every sentence of every passage would cost more than retrieval: embed the
    # ones most likely to matter, by term overlap in context and by their passage.
    shortlist = np.argsort(-(context_overlap + passage_similarity), kind="stable")[
        : settings.ASSISTANT_EXTRACTIVE_SHORTLIST
    ]
    texts_to_embed = [candidates[i].text for i in shortlist]
    if focus:
        embedded = np.asarray(embeddings_get().embed_documents([focus, *texts_to_embed]))
        vectors = embedded[1:]
        # Half the follow-up as typed, half the question it continues.
        similarity = (vectors @ embedded[0] + vectors @ np.asarray(question_vector)) / 2
    else:
        vectors = np.asarray(embeddings_get().embed_documents(texts_to_embed))
        similarity = vectors @ np.asarray(question_vector)
    return Features(
        candidates=[candidates[i] for i in shortlist],
        similarity=similarity,
        overlap=overlap[shortlist],
        context_overlap=context_overlap[shortlist],
        passage_similarity=passage_similarity[shortlist],
        passage_coverage=passage_coverage[shortlist],
        vectors=vectors,
    )


def answer_plan(
    *,
    question: str,
    passages: Sequence[Passage],
    language: str,
    question_vector: Sequence[float] | None = None,
    already_said: Sequence[str] = (),
    focus: str = "",
) -> Plan:
    """Choose the answer's sentences (sync: reads term statistics). Sentences the
    conversation's earlier answers already gave are not given again."""
    if question_vector is None:
        question_vector = embeddings_get().embed_query(question)
    features = sentence_features(
        question=question,
        passages=passages,
        language=language,
        question_vector=question_vector,
        focus=focus,
    )
    if features is None:
        return Plan(False, ())
    # How well the best passage matches decides whether there is an answer at all; the
    # sentence's own match decides which sentences say it.
    relevance = 0.6 * features.passage_similarity + 0.4 * features.passage_coverage
    if relevance.max() < settings.ASSISTANT_EXTRACTIVE_MIN_SCORE:
        return Plan(False, ())
    # A sentence often names its subject only in the sentence before ("It was completed in
    # 1904"): term overlap counted with that sentence and the heading weighs most.
    # Weights chosen on 300 questions spread over SQuAD dev part 1 (a 5 % sample) together
    # with 16 questions on the sample handbook.
    scores = (
        0.6 * features.similarity
        + 0.1 * features.overlap
        + 0.3 * features.context_overlap
        + 0.25 * features.passage_similarity
    )
    said = " ".join(" ".join(already_said).split())
    repeated = np.array([" ".join(c.text.split()) in said for c in features.candidates])
    if said and not repeated.all():
        scores = np.where(repeated, -np.inf, scores)
    best = int(np.argmax(scores))
    chosen = [best]
    vectors = features.vectors
    # Maximal marginal relevance: good sentences that say something the chosen ones do not.
    # A near copy of a chosen sentence (redundancy over 0.9) is never picked.
    while len(chosen) < settings.ASSISTANT_EXTRACTIVE_MAX_SENTENCES:
        redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        marginal = np.where(redundancy > 0.9, -np.inf, 0.7 * scores - 0.3 * redundancy)
        marginal[chosen] = -np.inf
        pick = int(np.argmax(marginal))
        if marginal[pick] == -np.inf:
            break
        if scores[pick] < settings.ASSISTANT_EXTRACTIVE_KEEP_RATIO * scores[best]:
            break
        chosen.append(pick)
    picked = [features.candidates[i] for i in chosen]
    picked += _antecedents(picked, passages, language)
    rank_of = {passage.number: rank for rank, passage in enumerate(passages)}
    # Read in passage order, then in the passage's own order, like a short paragraph.
    picked.sort(key=lambda s: (rank_of[s.passage], s.position))
    return Plan(True, tuple(picked))


class ExtractiveProvider:
    name = "extractive"

    async def acondense(self, *, question: str, history: Sequence[Turn]) -> str:
        return condense_by_history(question, history)

    def prepare(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        language: str,
        question_vector: Sequence[float] | None = None,
        original: str = "",
    ) -> Prepared:
        plan = answer_plan(
            question=question,
            passages=passages,
            language=language,
            question_vector=question_vector,
            already_said=[turn.answer for turn in history],
            focus=original if original and original != question else "",
        )
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
