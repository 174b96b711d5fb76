"""The answer model's training and validation data: (question, unit, label) pairs grouped
by question, from SQuAD part 1 and handbook set A only.

- SQuAD: each paragraph is read into units as an uploaded paragraph would be; the unit
  holding the gold answer's first character is a positive, the paragraph's other units are
  negatives; a second group pairs the question with the units of other articles the
  retrieval model finds most like it, none of which answers it (an unanswerable question).
- Handbook set A: every file parsed and chunked by the ingestion pipeline, each chunk read
  into units; a unit of the question's source file that holds a gold string is a positive
  (of several, the one the retrieval model ranks highest, unless every gold is asked for);
  the units the retrieval model ranks highest otherwise, and the other units of a
  positive's passage, are negatives; a question the documents do not answer has negatives
  only. Follow-ups are asked as the provider asks them (standalone, what they set aside
  removed).
"""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.answer_model.inputs import unit_input
from assistant.evaluation.handbook import handbook_load
from assistant.evaluation.squad import contains_answer
from assistant.llm.followups import question_focus, standalone_question
from assistant.llm.passage_units import Unit, passage_units
from workspaces.ingestion.chunking import sections_chunk
from workspaces.ingestion.parsing import document_parse

# Units of other articles (or, in set A, the highest-ranked non-answers) per question.
RETRIEVED_NEGATIVES = 4


@dataclass(frozen=True)
class Example:
    question: str
    text: str  # unit_input() of the unit
    label: int  # 1: the unit answers the question
    group: str  # one question against one set of units; the refusal decision is per group
    source: str  # "squad" | "handbook"


@dataclass(frozen=True)
class _Paragraph:
    article: int
    title: str
    units: list[Unit]
    starts: list[int]  # each unit's offset in the paragraph, -1 where it was not found


def _paragraph_read(article: int, title: str, context: str) -> _Paragraph:
    units = [
        u for u in passage_units(context, passage=0, language="english", heading=title)
        if u.answerable
    ]  # fmt: skip
    starts: list[int] = []
    cursor = 0
    for unit in units:
        found = context.find(unit.text[:40], cursor)
        starts.append(found)
        if found >= 0:
            cursor = found + 1
    return _Paragraph(article, title, units, starts)


def _holding(paragraph: _Paragraph, answer_start: int, answer: str) -> int | None:
    """The unit whose text holds the answer that starts at `answer_start`."""
    best = None
    for index, start in enumerate(paragraph.starts):
        if 0 <= start <= answer_start:
            best = index
    if best is None or not contains_answer(paragraph.units[best].text, (answer,)):
        return None
    return best


def _squad_read(
    path: Path, articles: slice
) -> tuple[list[_Paragraph], list[tuple[str, str, int, int]]]:
    """The articles' paragraphs read into units, and their questions whose answer lies in
    one unit: (id, question, paragraph index, the unit's index)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs: list[_Paragraph] = []
    questions: list[tuple[str, str, int, int]] = []
    for article, entry in list(enumerate(data))[articles]:
        title = entry.get("title", "").replace("_", " ")
        for raw in entry["paragraphs"]:
            paragraph = _paragraph_read(article, title, raw["context"])
            paragraphs.append(paragraph)
            for qa in raw["qas"]:
                answer = qa["answers"][0]
                positive = _holding(paragraph, answer["answer_start"], answer["text"])
                if positive is not None:
                    questions.append((qa["id"], qa["question"], len(paragraphs) - 1, positive))
    return paragraphs, questions


def squad_answer_units(path: Path, *, articles: slice) -> list[tuple[str, str]]:
    """Each question of the articles whose answer lies in one unit, with that unit's text."""
    paragraphs, questions = _squad_read(path, articles)
    return [(question, paragraphs[p].units[u].text) for _, question, p, u in questions]


def squad_examples(
    path: Path, *, articles: slice, embeddings: Embeddings, seed: int
) -> list[Example]:
    paragraphs, questions = _squad_read(path, articles)
    flat = [(p, u) for p, paragraph in enumerate(paragraphs) for u in range(len(paragraph.units))]
    texts = [unit_input(paragraphs[p].units[u], heading_path=paragraphs[p].title) for p, u in flat]
    unit_vectors = np.asarray(embeddings.embed_documents(texts))
    question_vectors = np.asarray(embeddings.embed_documents([q for _, q, _, _ in questions]))
    article_of = np.array([paragraphs[p].article for p, _ in flat])
    offset = {pu: index for index, pu in enumerate(flat)}
    examples: list[Example] = []
    for (qid, question, p, positive), vector in zip(questions, question_vectors, strict=True):
        paragraph = paragraphs[p]
        for u in range(len(paragraph.units)):
            text = texts[offset[(p, u)]]
            examples.append(Example(question, text, int(u == positive), f"squad:{qid}", "squad"))
        similarity = unit_vectors @ vector
        similarity[article_of == paragraph.article] = -np.inf
        for index in np.argsort(-similarity)[:RETRIEVED_NEGATIVES]:
            examples.append(Example(question, texts[index], 0, f"squad:{qid}:other", "squad"))
    random.Random(seed).shuffle(examples)  # noqa: S311 (a seeded order, not a secret)
    return examples


def handbook_examples(docs: Path, questions: Path, *, embeddings: Embeddings) -> list[Example]:
    units: list[tuple[str, Unit, str]] = []  # file, unit, unit_input
    for file in sorted(p for p in docs.iterdir() if p.is_file()):
        parsed = document_parse(data=file.read_bytes(), filename=file.name)
        for number, chunk in enumerate(sections_chunk(parsed.sections)):
            for unit in passage_units(
                chunk.text, passage=number, language="english", heading=chunk.heading_path
            ):
                if unit.answerable:
                    units.append(
                        (file.name, unit, unit_input(unit, heading_path=chunk.heading_path))
                    )
    items = handbook_load(questions)
    asked = [as_asked(item.turns) for item in items]
    unit_vectors = np.asarray(embeddings.embed_documents([text for _, _, text in units]))
    question_vectors = np.asarray(embeddings.embed_documents(asked))
    examples: list[Example] = []
    for item, question, vector in zip(items, asked, question_vectors, strict=True):
        group = f"handbook:{item.qid}"
        similarity = unit_vectors @ vector
        holding = [
            index
            for index, (file, unit, _) in enumerate(units)
            if file == item.source and contains_answer(unit.text, item.answers)
        ]
        # A figure the file gives more than once (the same number of days in two offices'
        # rows): only the holder the retrieval model ranks highest is taken as the answer,
        # and the others are left out rather than taught either way.
        positives = set(holding)
        if not item.every and len(holding) > 1:
            positives = {max(holding, key=lambda index: similarity[index])}
        ambiguous = set(holding) - positives
        if item.answerable and not holding:
            continue  # no unit holds a gold string whole: nothing to teach either way
        # The other units of a positive's passage: the near misses a reader must pass over.
        beside = {
            index
            for index, (file, unit, _) in enumerate(units)
            for p in positives
            if file == units[p][0] and unit.passage == units[p][1].passage
        } - positives
        ranked = [int(i) for i in np.argsort(-similarity) if int(i) not in holding]
        negatives = (beside | set(ranked[: RETRIEVED_NEGATIVES * 3])) - ambiguous
        for index in sorted(positives | negatives):
            examples.append(
                Example(question, units[index][2], int(index in positives), group, "handbook")
            )
    return examples


def as_asked(turns: Sequence[str]) -> str:
    """The last turn as the extractive provider reads it after condensing the follow-up."""
    history: list[str] = []
    for turn in turns:
        history.append(standalone_question(turn, history))
    return question_focus(history[-1])


# Passages a question is answered from (ASSISTANT_PASSAGES).
RETRIEVED_PASSAGES = 6


def squad_threshold_groups(path: Path, *, articles: slice, embeddings: Embeddings) -> list[Example]:
    """Each question against every unit of the paragraphs the retrieval model ranks first
    (answerable when its own paragraph is among them), and against every unit of the
    paragraphs of other articles it ranks first (unanswerable): as many units as an answer
    reads, for choosing the refusal threshold as answering meets it."""
    paragraphs, questions = _squad_read(path, articles)
    vectors = np.asarray(
        embeddings.embed_documents(
            [f"{p.title}\n\n{' '.join(u.text for u in p.units)}" for p in paragraphs]
        )
    )
    question_vectors = np.asarray(embeddings.embed_documents([q for _, q, _, _ in questions]))
    article_of = np.array([p.article for p in paragraphs])
    examples: list[Example] = []
    for (qid, question, own, positive), vector in zip(questions, question_vectors, strict=True):
        similarity = vectors @ vector
        for group, ranked in (
            (f"squad:{qid}", np.argsort(-similarity)),
            (f"squad:{qid}:other", np.argsort(-np.where(
                article_of == paragraphs[own].article, -np.inf, similarity
            ))),
        ):  # fmt: skip
            for p in (int(i) for i in ranked[:RETRIEVED_PASSAGES]):
                for u, unit in enumerate(paragraphs[p].units):
                    label = int(p == own and u == positive)
                    text = unit_input(unit, heading_path=paragraphs[p].title)
                    examples.append(Example(question, text, label, group, "squad"))
    return examples


def handbook_threshold_groups(
    docs: Path, questions: Path, *, embeddings: Embeddings
) -> list[Example]:
    """Each question against every unit of the chunks the retrieval model ranks first; a
    unit of the source file holding a gold string answers it."""
    chunks: list[tuple[str, str, list[Unit]]] = []  # file, heading path, units
    for file in sorted(p for p in docs.iterdir() if p.is_file()):
        parsed = document_parse(data=file.read_bytes(), filename=file.name)
        for number, chunk in enumerate(sections_chunk(parsed.sections)):
            units = passage_units(
                chunk.text, passage=number, language="english", heading=chunk.heading_path
            )
            chunks.append((file.name, chunk.heading_path, [u for u in units if u.answerable]))
    vectors = np.asarray(
        embeddings.embed_documents(
            [f"{heading}\n\n{' '.join(u.text for u in units)}" for _, heading, units in chunks]
        )
    )
    items = handbook_load(questions)
    asked = [as_asked(item.turns) for item in items]
    question_vectors = np.asarray(embeddings.embed_documents(asked))
    examples: list[Example] = []
    for item, question, vector in zip(items, asked, question_vectors, strict=True):
        for index in np.argsort(-(vectors @ vector))[:RETRIEVED_PASSAGES]:
            name, heading, units = chunks[int(index)]
            for unit in units:
                label = int(name == item.source and contains_answer(unit.text, item.answers))
                text = unit_input(unit, heading_path=heading)
                examples.append(Example(question, text, label, f"handbook:{item.qid}", "handbook"))
    return examples
