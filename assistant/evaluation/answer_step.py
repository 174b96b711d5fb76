"""Where the extractive answer step loses answers: each question asked of a throwaway
organization's documents through the real ingestion and retrieval, then read by the rules
scorer's own parts (assistant/llm/rules_plan.py), step by step: is a passage holding a gold
answer among those retrieved, is a unit holding it among the candidates the scorer weighs,
where does the scorer rank it, whether its refusal gate (the best passage's relevance)
refuses the question, and how well that signal and the best unit's similarity tell
answerable from unanswerable questions.

SQuAD questions are asked twice: as they are, and with the paragraph they were written from
set aside, so that the same article's other paragraphs, on the same subject, are all that
is found: a question the knowledge base nearly answers, which a careful colleague would
decline (unanswerable unless another paragraph happens to hold a gold answer).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile

from assistant.answer_model.examples import as_asked
from assistant.evaluation.handbook import handbook_load
from assistant.evaluation.squad import contains_answer, squad_load
from assistant.llm.provider import Passage
from assistant.llm.rules_plan import (
    PASSAGE_FEATURES,
    UNIT_FEATURES,
    passage_matrix,
    passage_relevance,
    rules_weights,
    unit_features,
    unit_matrix,
    unit_scores,
)
from workspaces.embedding.model import embeddings_in_force
from workspaces.evaluation.organization import (
    cached_embeddings,
    evaluation_organization,
    folder_upload,
)
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Workspace
from workspaces.search.retrieval import chunks_retrieve
from workspaces.services import WorkspaceError, document_upload, workspace_create


@dataclass(frozen=True)
class Step:
    """What the answer step did with one question."""

    answerable: bool  # a gold answer exists in the documents searched
    passage_rank: int | None  # first retrieved passage holding a gold answer (1-based)
    unit_rank: int | None  # the scorer's rank of the best unit holding one (1-based)
    relevance: float  # the best passage's relevance (the refusal gate)
    similarity: float  # the best unit's embedding similarity to the question
    below_relevance: bool  # refused by the gate
    # What a fit of the scorer's weights reads (`assistant/evaluation/weights_fit.py`): per
    # unit weighed, its UNIT_FEATURES and whether it holds a gold answer; per passage of
    # those units, its PASSAGE_FEATURES and whether it holds one.
    unit_x: np.ndarray = field(default_factory=lambda: np.zeros((0, len(UNIT_FEATURES))))
    unit_y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    passage_x: np.ndarray = field(default_factory=lambda: np.zeros((0, len(PASSAGE_FEATURES))))
    passage_y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def question_step(
    *,
    question: str,
    golds: Sequence[str],
    owner: Any,
    workspace: Workspace,
    answerable: bool | None = None,
    set_aside: int | None = None,
) -> Step:
    """`answerable`: whether the documents hold an answer; None: whether a retrieved passage
    holds a gold answer."""
    embeddings = embeddings_in_force()
    vector = embeddings.embed_query(question)
    wanted = settings.ASSISTANT_PASSAGES
    chunks = chunks_retrieve(
        user=owner,
        query=question,
        within=[workspace.pk],
        k=2 * wanted if set_aside is not None else wanted,
        query_vector=vector,
        distinct=True,
    )
    chunks = [c for c in chunks if c.document_id != set_aside][:wanted]
    passages = [Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)]

    def holds(text: str) -> bool:
        return bool(golds) and contains_answer(text, tuple(golds))

    passage_rank = next((p.number for p in passages if holds(p.chunk.text)), None)
    if answerable is None:
        answerable = passage_rank is not None
    features = unit_features(
        question=question,
        passages=passages,
        language=workspace.language,
        question_vector=vector,
        embeddings=embeddings,
        workspace_ids=[workspace.pk],
    )
    if features is None:
        return Step(answerable, passage_rank, None, 0.0, 0.0, True)
    scores = unit_scores(features)
    order = list(np.argsort(-scores, kind="stable"))
    ranks = [order.index(i) + 1 for i, u in enumerate(features.candidates) if holds(u.text)]
    relevance = float(passage_relevance(features).max())
    numbers, passage_x = passage_matrix(features)
    text_of = {p.number: p.chunk.text for p in passages}
    return Step(
        answerable=answerable,
        passage_rank=passage_rank,
        unit_rank=min(ranks, default=None),
        relevance=relevance,
        similarity=float(features.similarity.max()),
        below_relevance=relevance < rules_weights().min_relevance,
        unit_x=unit_matrix(features),
        unit_y=np.array([holds(u.text) for u in features.candidates], dtype=bool),
        passage_x=passage_x,
        passage_y=np.array([answerable and holds(text_of[n]) for n in numbers], dtype=bool),
    )


def handbook_steps(docs: Path, questions: Path) -> list[Step]:
    """Each item's last turn; an item with `source: null` has no gold answer."""
    items = handbook_load(questions)
    with evaluation_organization(name=docs.name) as (_, owner):
        workspace = workspace_create(actor=owner, name="Documents")
        folder_upload(docs, workspace, owner)
        return [
            question_step(
                question=as_asked(item.turns),
                golds=item.answers if item.answerable else (),
                answerable=item.answerable,
                owner=owner,
                workspace=workspace,
            )
            for item in items
        ]


def squad_steps(path: Path, *, articles: slice, max_questions: int) -> Iterator[Step]:
    """Each question as it is, then with its own paragraph set aside."""
    dataset = squad_load(path, articles=articles, max_questions=max_questions)
    with evaluation_organization(name=path.stem) as (_, owner):
        workspace = workspace_create(actor=owner, name="Paragraphs")
        document_of: dict[int, int] = {}
        for index, (title, context) in enumerate(dataset.paragraphs):
            upload = ContentFile(f"# {title}\n\n{context}\n".encode(), name=f"p{index}.md")
            try:
                document = document_upload(
                    actor=owner, workspace=workspace, upload=upload, queue_ingestion=False
                )
            except WorkspaceError:
                continue  # the same paragraph twice: the first copy stands for both
            document_of[index] = document.pk
        documents_ingest(document_ids=list(document_of.values()), embeddings=cached_embeddings())
        for question in dataset.questions:
            for set_aside in (None, document_of.get(question.paragraph)):
                yield question_step(
                    question=question.question,
                    golds=question.answers,
                    answerable=True if set_aside is None else None,
                    owner=owner,
                    workspace=workspace,
                    set_aside=set_aside,
                )


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """The chance that an answerable question scores above an unanswerable one."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 4)


def step_metrics(steps: Sequence[Step]) -> dict[str, object]:
    answerable = [s for s in steps if s.answerable]
    unanswerable = [s for s in steps if not s.answerable]
    return {
        "questions": len(steps),
        "answerable": len(answerable),
        # Of the answerable questions:
        "gold_passage_retrieved": _share([s.passage_rank is not None for s in answerable]),
        "gold_unit_weighed": _share([s.unit_rank is not None for s in answerable]),
        "gold_unit_first": _share([s.unit_rank == 1 for s in answerable]),
        "gold_unit_top3": _share([(s.unit_rank or 4) <= 3 for s in answerable]),
        "refused_by_relevance": _share([s.below_relevance for s in answerable]),
        # Of the unanswerable ones:
        "unanswerable_refused_by_relevance": _share([s.below_relevance for s in unanswerable]),
        # How well each signal tells the two apart (0.5: not at all).
        "relevance_auc": auc(
            [s.relevance for s in answerable], [s.relevance for s in unanswerable]
        ),
        "similarity_auc": auc(
            [s.similarity for s in answerable], [s.similarity for s in unanswerable]
        ),
    }
