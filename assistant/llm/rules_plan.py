"""The hand-weighted scorer of the extractive provider (ASSISTANT_EXTRACTIVE_SCORER=rules,
the default): a unit's score mixes its embedding similarity to the question (the retrieval
model) with how much of the question's weight (IDF from the term statistics of the
workspaces searched) it and its context contain; the best-scoring passage's relevance
decides whether to answer.
Its constants were set by hand on handbook set A. assistant/answer_model/ holds the learned
scorer meant to replace it; see its MODEL_CARD.md for where that stands.
"""

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from langchain_core.embeddings import Embeddings

from assistant.llm.answer_parts import (
    Part,
    antecedent,
    caption_of,
    key_of,
    parts_unrepeated,
    sentence_completed,
    text_lexemes,
)
from assistant.llm.frame import frame_lexemes
from assistant.llm.passage_units import Unit, passage_units, unit_text
from assistant.llm.provider import Passage
from assistant.llm.ranges import quantities, rows_in_range
from workspaces.embedding.model import embeddings_in_force
from workspaces.search.term_stats import term_chunk_counts, term_variants
from workspaces.selectors import chunk_similarities

# The constants below were set by hand on handbook set A's questions (the tuning set), not
# drawn from data by a command; they are what the answer model (assistant/answer_model/)
# is meant to replace once it answers as well.
# Where one sentence of a question ends and the next begins.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A question that asks for a figure (English interrogatives).
ASKS_FIGURE = re.compile(
    r"\b(?:how\s+(?:long|many|much|often|far|soon|quickly|late|early)|when|by\s+when"
    r"|what\s+time|what\s+date"
    # ... or for the most or least of something: "what's the heaviest...", "the most I can".
    r"|(?:what|which)(?:'s|’s|\s+is|\s+are)\s+the\s+(?:\w+est|most|least|max\w*|min\w*))\b",
    re.IGNORECASE,
)
# How much a unit gains when the question names its section.
SECTION_NAMED_WEIGHT = 0.25
# A unit scoring this close to the best is said too, whatever it adds.
CLOSE_RATIO = 0.9
# Below this similarity to a sentence of the previous answer, a unit is not said like it.
PARALLEL_FLOOR = 0.5


def _idf(lexemes: set[str], workspace_ids: Sequence[int]) -> tuple[dict[str, float], set[str]]:
    """IDF of each lexeme from the term statistics of the workspaces searched, and the
    lexemes some chunk of them holds."""
    chunks, counts = term_chunk_counts(lexemes=lexemes, workspace_ids=workspace_ids)
    total = float(max(chunks, 1))
    # A lexeme no chunk has gets the highest weight; it cannot be matched anyway.
    idf = {
        lexeme: math.log(1 + (total - counts.get(lexeme, 0) + 0.5) / (counts.get(lexeme, 0) + 0.5))
        for lexeme in lexemes
    }
    return idf, {lexeme for lexeme in lexemes if counts.get(lexeme, 0)}


@dataclass(frozen=True)
class Features:
    """Per candidate unit (after the shortlist): what the score is made of."""

    candidates: list[Unit]
    similarity: np.ndarray  # unit embedding . question embedding
    overlap: np.ndarray  # share of the question's IDF weight in the unit
    context_overlap: np.ndarray  # ... in the unit, the one before it, its label and heading
    passage_similarity: np.ndarray  # the unit's passage embedding . question embedding
    passage_coverage: np.ndarray  # share of the question's IDF weight in the whole passage
    # 1 where the question names the unit's section ("what other paid leave..." and "8. Other
    # paid leave"), else 0.
    section_named: np.ndarray
    vectors: np.ndarray  # unit embeddings, for diversification
    lexemes: dict[tuple[int, int], set[str]]  # (passage, position) -> the unit's lexemes
    # ... the unit's lexemes with those of the unit before it, its label and its heading.
    context_lexemes: dict[tuple[int, int], set[str]]
    units: dict[int, list[Unit]]  # passage number -> all its units
    headings: dict[int, set[str]]  # passage number -> the lexemes of its heading path
    question_lexemes: set[str]
    told: set[str]  # lexemes only of the sentences that tell, not ask
    idf: dict[str, float]
    language: str
    question: str
    # The organization's embedding model, looked up once for the whole plan.
    embeddings: Embeddings


def _passage_similarity(question_vector: Sequence[float], chunk_ids: list[int]) -> dict[int, float]:
    return chunk_similarities(query_vector=question_vector, chunk_ids=chunk_ids)


def unit_features(
    *,
    question: str,
    passages: Sequence[Passage],
    language: str,
    question_vector: Sequence[float],
    embeddings: Embeddings,
    workspace_ids: Sequence[int],
) -> Features | None:
    units = {
        p.number: passage_units(
            p.chunk.text, passage=p.number, language=language, heading=p.chunk.heading_path
        )
        for p in passages
    }
    every = [unit for p in passages for unit in units[p.number]]
    if not any(u.answerable for u in every):
        return None
    texts = [question]
    texts += [p.chunk.heading_path + "\n" + p.chunk.text for p in passages]
    texts += [p.chunk.heading_path for p in passages]
    texts += [unit_text(u) for u in every]
    lexeme_sets = text_lexemes(texts, language)
    question_lexemes = set(lexeme_sets[0])
    # A stem no chunk has, read as the stems of the word's other forms (as retrieval does).
    for lexeme, variants in term_variants(
        lexemes=question_lexemes, workspace_ids=workspace_ids
    ).items():
        question_lexemes = (question_lexemes - {lexeme}) | set(variants)
    count = len(passages)
    passage_lexemes = dict(
        zip((p.number for p in passages), lexeme_sets[1 : 1 + count], strict=True)
    )
    heading_lexemes = dict(
        zip((p.number for p in passages), lexeme_sets[1 + count : 1 + 2 * count], strict=True)
    )
    all_lexemes = lexeme_sets[1 + 2 * count :]
    by_key = {(u.passage, u.position): found for u, found in zip(every, all_lexemes, strict=True)}
    # The unit before counts as context even when it cannot be an answer itself (the FAQ's
    # question above its answer), and so does the last label above it in the passage.
    context_lexemes = []
    label: set[str] = set()
    for index, (unit, found) in enumerate(zip(every, all_lexemes, strict=True)):
        if unit.position == 0:
            label = set()
        before = all_lexemes[index - 1] if unit.position else set()
        context_lexemes.append(found | before | label | heading_lexemes[unit.passage])
        if not unit.answerable:
            label = found
    keep = [index for index, unit in enumerate(every) if unit.answerable]
    candidates = [every[index] for index in keep]
    idf, known = _idf(question_lexemes, workspace_ids)
    if known:
        # A word no document has is weighed like the question's known words on average,
        # not above all of them (the IDF of a word in no chunk is the highest there is): it
        # cannot be matched, and one such word of a question told as a story ("yesterday",
        # "neighbour") made every passage look unanswered; a question whose key word no
        # document has ("what is X's codename?") still covers little. On SQuAD part 1's
        # validation articles (20-23) answer recall went 0.885 -> 0.897 and refusals 29 ->
        # 19; set A is unchanged; docs/evaluation.md has set C. Weighing it nothing answered
        # the codename question.
        typical = sum(idf[x] for x in known) / len(known)
        idf = {x: weight if x in known else typical for x, weight in idf.items()}

    # What the asker tells beside what they ask ("I've been given an exception. How long is
    # it valid?") may or may not be in the documents: its words count where a unit has
    # them, and weigh nothing where it does not.
    told = question_lexemes - _asked_lexemes(question, language, question_lexemes)

    def coverage(found: set[str]) -> float:
        weighed = (question_lexemes - told) | (told & found)
        total = sum(idf[x] for x in weighed) or 1.0
        return sum(idf[x] for x in weighed & found) / total

    overlap = np.array([coverage(all_lexemes[index]) for index in keep])
    context_overlap = np.array([coverage(context_lexemes[index]) for index in keep])
    similarity_of = _passage_similarity(question_vector, [p.chunk.chunk_id for p in passages])
    number_to_chunk = {p.number: p.chunk.chunk_id for p in passages}
    passage_similarity = np.array([similarity_of[number_to_chunk[u.passage]] for u in candidates])
    passage_coverage = np.array([coverage(passage_lexemes[u.passage]) for u in candidates])
    named = {p.number: _names_section(question, p.chunk.heading_path) for p in passages}
    section_named = np.array([float(named[u.passage]) for u in candidates])
    # Embedding every unit of every passage would cost more than retrieval: embed the ones
    # most likely to matter, by term overlap in context and by their passage.
    shortlist = np.argsort(-(context_overlap + passage_similarity + section_named), kind="stable")[
        : settings.ASSISTANT_EXTRACTIVE_SHORTLIST
    ]
    vectors = np.asarray(embeddings.embed_documents([unit_text(candidates[i]) for i in shortlist]))
    return Features(
        candidates=[candidates[i] for i in shortlist],
        similarity=vectors @ np.asarray(question_vector),
        overlap=overlap[shortlist],
        context_overlap=context_overlap[shortlist],
        passage_similarity=passage_similarity[shortlist],
        passage_coverage=passage_coverage[shortlist],
        section_named=section_named[shortlist],
        vectors=vectors,
        lexemes=by_key,
        context_lexemes={
            (u.passage, u.position): found for u, found in zip(every, context_lexemes, strict=True)
        },
        units=units,
        headings=heading_lexemes,
        question_lexemes=question_lexemes,
        told=told,
        idf=idf,
        language=language,
        question=question,
        embeddings=embeddings,
    )


def _asked_lexemes(question: str, language: str, every: set[str]) -> set[str]:
    """The lexemes of the question's sentences that ask (end with a question mark), with
    their other forms as `every` holds them; all of `every` when no sentence or every
    sentence asks."""
    asking, telling = _split(question)
    if not asking or not telling:
        return every
    (found,) = text_lexemes([" ".join(asking)], language)
    (told,) = text_lexemes([" ".join(telling)], language)
    return every - (told - found)


def _split(question: str) -> tuple[list[str], list[str]]:
    """The question's sentences that ask (end with a question mark), and the others."""
    sentences = [s for s in SENTENCE_END.split(question.strip()) if s.strip()]
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return asking, [s for s in sentences if s not in asking]


def _names_section(question: str, heading_path: str) -> bool:
    """Whether the question names one of the passage's sections (not the document's
    title) word for word: a section title of two words or more."""
    asked = " " + " ".join(re.findall(r"[\w'’-]+", question.lower())) + " "
    for section in heading_path.split(" › ")[1:]:
        words = re.findall(r"[\w'’-]+", re.sub(r"^\s*[\d.]+\s+", "", section).lower())
        if len(words) >= 2 and f" {' '.join(words)} " in asked:
            return True
    return False


@dataclass(frozen=True)
class Repeats:
    """What the conversation has said: what the previous answer led with (the trainees'
    rate, one site's row) and what earlier answers said; and what the follow-up adds to the
    previous question ("after more than 40 hours")."""

    said: str
    added: set[str]
    previous_units: tuple[Unit, ...]  # the previous answer's, read as units

    def again(self, unit: Unit, features: Features) -> bool:
        """The unit says again what was said, and holds nothing the follow-up adds."""
        return (
            bool(self.said)
            and " ".join(unit.text.split()) in self.said
            and not features.lexemes[key_of(unit)] & self.added
        )


def _repeats(features: Features, already_said: Sequence[str], previous_question: str) -> Repeats:
    if not already_said:
        return Repeats("", set(), ())
    previous_units = tuple(
        u
        for u in passage_units(already_said[-1], passage=0, language=features.language)
        if u.answerable
    )
    last = [u.text for u in previous_units[:1]]
    said = " ".join(" ".join([*already_said[:-1], *last]).split())
    added = set(features.question_lexemes) - frame_lexemes(features.language)
    if previous_question:
        added -= text_lexemes([previous_question], features.language)[0]
    return Repeats(said, added, previous_units)


def _rows(anchor: Unit, features: Features, repeats: Repeats) -> list[Unit]:
    """The anchor row, and the other rows of its table that match the question as well: a
    row's own terms count, not those every row of the table shares (the headers)."""
    rows = [
        u for u in features.units[anchor.passage] if u.kind == "row" and u.block == anchor.block
    ]
    lexemes = [features.lexemes[(u.passage, u.position)] for u in rows]
    shared = set.intersection(*lexemes) if len(rows) > 1 else set()
    # Rows keyed by ranges ("2 to 5 years"): the question's quantity ("three years") picks
    # those that hold it, whatever their words.
    holding = rows_in_range(
        [[value for _, value in u.cells] for u in rows], features.question, features.language
    )
    if holding is not None:
        rows, lexemes = [rows[i] for i in holding], [lexemes[i] for i in holding]

    # A row is named by its first cell (the course, the office, the benefit): a question's
    # word found there tells which row is asked about more surely than one found further
    # along ("privacy" asked, and a "Privacy Officer" who gives another course). Of several
    # rows its first cell names alike (one role's many courses), those holding most of the
    # rest of the question.
    leads = text_lexemes([u.cells[0][1] if u.cells else "" for u in rows], features.language)
    if holding is None and any(lead & repeats.added for lead in leads):
        # The follow-up names another row ("what about nights?" after the early shift's):
        # the row the conversation said is not the one asked about now.
        kept = [i for i, u in enumerate(rows) if u is anchor or not repeats.again(u, features)]
        rows, lexemes, leads = (
            [rows[i] for i in kept],
            [lexemes[i] for i in kept],
            [leads[i] for i in kept],
        )

    def key(found: set[str]) -> float:
        return sum(features.idf.get(x, 0.0) for x in (found - shared) & features.question_lexemes)

    keys = [key(found) for found in lexemes]
    lead_keys = [key(found) for found in leads]
    if max(lead_keys) > 0:
        named = max(lead_keys)
        keys = [k if lead == named else 0.0 for k, lead in zip(keys, lead_keys, strict=True)]
    top = max(keys)
    if top <= 0:
        return rows if holding is not None else [anchor]
    # The row the question names (an office) may not be the one most like it in meaning.
    return [u for u, k in zip(rows, keys, strict=True) if k >= top]


def _weight(features: Features, lexemes: set[str]) -> float:
    """How much of the question's weight (IDF, framing words aside) these lexemes hold."""
    asked = (features.question_lexemes - frame_lexemes(features.language)) & lexemes
    return sum(features.idf.get(x, 0.0) for x in asked)


def _block_of(unit: Unit) -> tuple[int, int]:
    return unit.passage, unit.block


def _list_block(anchor: Unit, features: Features, alone: bool) -> list[Unit]:
    """The list an item belongs to: the whole of it when the question is about what the
    list is about ("what goes on the site inspection checklist?"), only the lead-in and the
    items that match when the question is about one thing the list says ("how often are
    fire exits checked?" of a list of building rules)."""
    block = [
        u
        for u in features.units[anchor.passage]
        if u.block == anchor.block and u.kind in ("lead", "item")
    ]
    items = [u for u in block if u.kind == "item"]
    if anchor.kind != "item" or len(items) <= 2:
        return block
    first = block[0].position
    # What the list is about: its heading, the label or sentence above it, its lead-in.
    topic = set(features.headings[anchor.passage])
    if first:
        topic |= features.lexemes.get((anchor.passage, first - 1), set())
    for unit in block:
        if unit.kind == "lead":
            topic |= features.lexemes[key_of(unit)]
    own = _weight(features, features.lexemes[key_of(anchor)] - topic)
    # A question asking how long, how much, how many or when is answered by the item that
    # gives the figure, under the list's lead-in, not by the whole list; unless other items
    # of the list answer too ("when are deploys frozen?": each item is a time).
    # The question's first asking sentence; its last sentence when none asks.
    asking, telling = _split(features.question)
    asks_figure = ASKS_FIGURE.search(asking[0] if asking else telling[-1] if telling else "")
    if alone and asks_figure and quantities(anchor.text, features.language):
        return [u for u in block if u.kind == "lead"] + [anchor]
    if own <= _weight(features, topic):
        return block
    # The items that match about as well as the anchor; not one that shares a common
    # word with the question ("must").
    matching = [
        u for u in items if _weight(features, features.lexemes[key_of(u)] - topic) >= own / 2
    ]
    return [u for u in block if u.kind == "lead"] + (matching or [anchor])


def _part(
    anchor: Unit, features: Features, repeats: Repeats, alone: bool
) -> tuple[list[Unit], str]:
    """The units an anchor stands for and the text that says them."""
    if anchor.kind == "row":
        rows = _rows(anchor, features, repeats)
        caption = caption_of(anchor.context)
        lines = [u.text for u in rows]
        if caption and not any(caption in line for line in lines):
            lines[0] = f"{caption}: {lines[0]}" if len(lines) == 1 else caption + ":\n- " + lines[0]
            text = "\n- ".join(lines) if len(lines) > 1 else lines[0]
        else:
            text = lines[0] if len(lines) == 1 else "\n".join(f"- {line}" for line in lines)
        return rows, text
    if anchor.kind in ("item", "lead"):
        block = _list_block(anchor, features, alone)
        lead = next((u.text for u in block if u.kind == "lead"), "")
        items = [u.text for u in block if u.kind == "item"]
        if not lead:
            lead = caption_of(anchor.context) + ":" if anchor.context else ""
        if not items:
            return block, lead
        return block, (lead + "\n" if lead else "") + "\n".join(f"- {item}" for item in items)
    return [anchor], anchor.text


# What the scores read, in the order of the weights below.
UNIT_FEATURES = ("similarity", "overlap", "context_overlap", "passage_similarity", "section_named")
PASSAGE_FEATURES = ("passage_similarity", "passage_coverage")


@dataclass(frozen=True)
class RulesWeights:
    """A unit's score and a passage's relevance: weighted sums of their features, read as
    probabilities (a logistic function of the sum) when the weights were fitted."""

    unit: tuple[float, ...]
    unit_intercept: float
    passage: tuple[float, ...]
    passage_intercept: float
    min_relevance: float  # below this best relevance, no answer
    logistic: bool

    def unit_score(self, x: np.ndarray) -> np.ndarray:
        return self._read(x @ np.asarray(self.unit) + self.unit_intercept)

    def relevance(self, x: np.ndarray) -> np.ndarray:
        return self._read(x @ np.asarray(self.passage) + self.passage_intercept)

    def _read(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-z)) if self.logistic else z)


# Set by hand on handbook set A's questions. `manage.py fit_rules_weights` draws them from
# SQuAD part 1's articles 0-19 and set A instead (2026-12-07): relevance 0.52 / 0.48 with a
# threshold equal to 0.42 on this scale, close to these; but with all its weights in force
# handbook set C, which nobody tuned on, fell from 0.70 to 0.42 answer recall and its false
# refusals rose from 0.14 to 0.28 (the fit leans on word overlap, which SQuAD's questions
# share with their answers and set C's do not). These stay until a fit does better on set C.
HAND_WEIGHTS = RulesWeights(
    unit=(0.6, 0.1, 0.3, 0.25, SECTION_NAMED_WEIGHT),
    unit_intercept=0.0,
    passage=(0.6, 0.4),
    passage_intercept=0.0,
    min_relevance=0.4,
    logistic=False,
)


def rules_weights() -> RulesWeights:
    """The weights of the file settings.ASSISTANT_EXTRACTIVE_WEIGHTS names (written by
    `manage.py fit_rules_weights`), else the hand-set ones; ASSISTANT_EXTRACTIVE_MIN_SCORE,
    when set, overrides the refusal threshold."""
    path = settings.ASSISTANT_EXTRACTIVE_WEIGHTS
    weights = _weights_read(path) if path else HAND_WEIGHTS
    if settings.ASSISTANT_EXTRACTIVE_MIN_SCORE is not None:
        weights = replace(weights, min_relevance=settings.ASSISTANT_EXTRACTIVE_MIN_SCORE)
    return weights


@lru_cache(maxsize=4)
def _weights_read(path: str) -> RulesWeights:
    found = json.loads(Path(path).read_text())
    return RulesWeights(
        unit=tuple(found["unit"]),
        unit_intercept=found["unit_intercept"],
        passage=tuple(found["passage"]),
        passage_intercept=found["passage_intercept"],
        min_relevance=found["min_relevance"],
        logistic=True,
    )


def unit_matrix(features: Features) -> np.ndarray:
    return np.column_stack([getattr(features, name) for name in UNIT_FEATURES])


def passage_matrix(features: Features) -> tuple[list[int], np.ndarray]:
    """Each passage of the candidates (its number) and its PASSAGE_FEATURES."""
    first: dict[int, int] = {}
    for index, unit in enumerate(features.candidates):
        first.setdefault(unit.passage, index)
    rows = [[getattr(features, name)[i] for name in PASSAGE_FEATURES] for i in first.values()]
    return list(first), np.asarray(rows, dtype=float).reshape(-1, len(PASSAGE_FEATURES))


def passage_relevance(features: Features) -> np.ndarray:
    """How well each candidate's passage matches the question: the best decides whether
    there is an answer at all."""
    x = np.column_stack([getattr(features, name) for name in PASSAGE_FEATURES])
    return rules_weights().relevance(x)


def unit_scores(features: Features) -> np.ndarray:
    """How well each candidate unit answers: its own match decides which units say it. A
    sentence often names its subject only in the sentence before or the heading: term
    overlap counted with those weighs most."""
    return rules_weights().unit_score(unit_matrix(features))


def rules_plan(
    *,
    question: str,
    passages: Sequence[Passage],
    language: str,
    workspace_ids: Sequence[int],
    question_vector: Sequence[float] | None = None,
    already_said: Sequence[str] = (),
    previous_question: str = "",
    elliptical: bool = False,
) -> tuple[Part, ...] | None:
    """Choose what the answer says (sync: reads the term statistics of `workspace_ids`, the
    workspaces searched, and, for a sentence cut by a chunk boundary, the neighbouring
    chunk). What the conversation's earlier answers
    already said is not said again, unless it holds what the follow-up adds to the
    previous question; an elliptical follow-up prefers what is said like the previous
    answer ("apprentices receive..." after "trainees receive..."). The parts come best
    first."""
    embeddings = embeddings_in_force()
    if question_vector is None:
        question_vector = embeddings.embed_query(question)
    features = unit_features(
        question=question,
        passages=passages,
        language=language,
        question_vector=question_vector,
        embeddings=embeddings,
        workspace_ids=workspace_ids,
    )
    if features is None:
        return None
    if passage_relevance(features).max() < rules_weights().min_relevance:
        return None
    scores = unit_scores(features)
    repeats = _repeats(features, already_said, previous_question)
    said = " ".join(" ".join(already_said).split())
    if said:
        scores = _follow_up_scores(scores, features, repeats, elliptical)
    best = int(np.argmax(scores))
    chosen = [best]
    # A question of two clauses ("How long is X, and can it be extended?") is answered
    # clause by clause: the best unit for each is said, whatever the whole question's
    # score makes of it.
    for pick in _clause_picks(features, scores):
        if pick not in chosen and len(chosen) < settings.ASSISTANT_EXTRACTIVE_MAX_SENTENCES:
            chosen.append(pick)
    covered = set().union(*(_said_by(features.candidates[i], features) for i in chosen))
    needed = settings.ASSISTANT_EXTRACTIVE_MIN_GAIN * _weight(features, features.question_lexemes)
    vectors = features.vectors
    # Maximal marginal relevance: good units that say something the chosen ones do not,
    # and that bear on a part of the question the chosen ones leave open. A near copy of a
    # chosen unit (redundancy over 0.9) is never picked.
    # Only a unit scoring at least KEEP_RATIO of the best may be said beside it: the others
    # are out of the running, not a reason to stop looking at those that are.
    good = scores >= settings.ASSISTANT_EXTRACTIVE_KEEP_RATIO * scores[best]
    while len(chosen) < settings.ASSISTANT_EXTRACTIVE_MAX_SENTENCES:
        redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        marginal = np.where((redundancy > 0.9) | ~good, -np.inf, 0.7 * scores - 0.3 * redundancy)
        marginal[chosen] = -np.inf
        pick = int(np.argmax(marginal))
        if marginal[pick] == -np.inf:
            break
        candidate = features.candidates[pick]
        # What the asker tells ("my manager says...") is not what they ask: a part that
        # only adds its words adds nothing to the answer.
        gain = _weight(features, features.lexemes[key_of(candidate)] - covered - features.told)
        # The sentence right after a chosen one continues it ("...within 30 days. Claims
        # more than 90 days late are not paid."); another must answer more of the question.
        follows = any(
            candidate.passage == features.candidates[i].passage
            and candidate.position == features.candidates[i].position + 1
            and candidate.kind == features.candidates[i].kind == "sentence"
            for i in chosen
        )
        # One nearly as good as the best is another way the question is answered ("within
        # 30 days" beside "more than 90 days late").
        close = scores[pick] >= CLOSE_RATIO * scores[best]
        if not (follows or close) and (gain <= 0 or gain < needed):
            scores = scores.copy()
            scores[pick] = -np.inf
            continue
        chosen.append(pick)
        covered |= _said_by(candidate, features)
    parts: list[Part] = []
    used: set[tuple[int, int]] = set()
    by_number = {p.number: p for p in passages}
    # How many of the chosen units are items of each list.
    items_of = Counter(
        _block_of(features.candidates[i]) for i in chosen if features.candidates[i].kind == "item"
    )
    for index in chosen:
        anchor = features.candidates[index]
        if key_of(anchor) in used:
            continue
        units, text = _part(anchor, features, repeats, alone=items_of[_block_of(anchor)] == 1)
        if anchor.kind == "sentence":
            text = sentence_completed(
                anchor, by_number[anchor.passage], features.units[anchor.passage], language
            )
            before = antecedent(anchor, features.units[anchor.passage])
            if before is not None and key_of(before) not in used:
                units = [before, *units]
                text = f"{before.text} {text}"
        if any(" ".join(text.split()) == " ".join(part.text.split()) for part in parts):
            continue
        used.update(key_of(u) for u in units)
        parts.append(Part(anchor.passage, units[0].position, text, tuple(u.text for u in units)))
    # Best first: the caller reads the best part for what the answer is about, then puts
    # the parts in reading order.
    return tuple(parts_unrepeated(parts))


# Where a question's second clause begins: "..., and where do staff park?", "... and can
# it be extended?", "..., and by when?" (English; a conjunction before a question word or
# an auxiliary).
CLAUSE_BREAK = re.compile(
    r",?\s+(?:and|but|also)\s+"
    r"(?=(?:(?:by|for|from|to|in|at|on|with|until)\s+)?"
    r"(?:what|which|who|whom|when|where|why|how|is|are|am|was|were"
    r"|can|could|do|does|did|will|would|should|must|may|might|has|have)\b)",
    re.IGNORECASE,
)


def _clauses(question: str, language: str) -> list[str]:
    """The clauses a question asks, when it asks two or more; else []."""
    if language != "english":
        return []
    asked = [s for s in SENTENCE_END.split(question.strip()) if s.rstrip().endswith("?")]
    clauses = [c.strip() for c in CLAUSE_BREAK.split(asked[-1] if asked else question) if c.strip()]
    return clauses if len(clauses) > 1 else []


def _clause_picks(features: Features, scores: np.ndarray) -> list[int]:
    """For each clause of a question that asks two things, the candidate the scorer ranks
    first when that clause alone is the question (its embedding similarity and its share of
    the clause's words), among those the whole question's score leaves in the running."""
    clauses = _clauses(features.question, features.language)
    if not clauses:
        return []
    vectors = np.asarray([features.embeddings.embed_query(c) for c in clauses])
    keys = [key_of(u) for u in features.candidates]
    picks = []
    for vector, found in zip(vectors, text_lexemes(clauses, features.language), strict=True):
        weights = {x: features.idf[x] for x in found if x in features.idf}
        total = sum(weights.values()) or 1.0
        x = np.column_stack(
            [
                features.vectors @ vector,
                [sum(weights.get(w, 0.0) for w in features.lexemes[k]) / total for k in keys],
                [
                    sum(weights.get(w, 0.0) for w in features.context_lexemes[k]) / total
                    for k in keys
                ],
                features.passage_similarity,
                features.section_named,
            ]
        )
        clause_scores = np.where(np.isfinite(scores), rules_weights().unit_score(x), -np.inf)
        picks.append(int(np.argmax(clause_scores)))
    return picks


def _said_by(unit: Unit, features: Features) -> set[str]:
    """What a chosen unit answers of the question: its own terms and its heading's."""
    return features.lexemes[key_of(unit)] | features.headings[unit.passage]


def _follow_up_scores(
    scores: np.ndarray,
    features: Features,
    repeats: Repeats,
    elliptical: bool,
) -> np.ndarray:
    # What the conversation said is not said again, unless the follow-up adds to it.
    repeated = np.array([repeats.again(c, features) for c in features.candidates])
    if not repeated.all():
        scores = np.where(repeated, -np.inf, scores)
    previous_units = repeats.previous_units
    if elliptical and previous_units:
        previous = np.asarray(
            features.embeddings.embed_documents([unit_text(u) for u in previous_units])
        )
        parallel = (features.vectors @ previous.T).max(axis=1)
        boost = settings.ASSISTANT_EXTRACTIVE_PARALLEL_WEIGHT * np.clip(
            parallel - PARALLEL_FLOOR, 0, None
        )
        scores = scores + boost
    return scores
