"""The `local` rerank provider: the fused candidates ordered by the answer model, a passage
scoring as its best unit (the probability that the unit answers the question). The other
providers are workspaces.search.rerank's."""

from collections.abc import Sequence

import numpy as np
from django.conf import settings

from assistant.answer_model.inputs import unit_input
from assistant.answer_model.scorer import answer_scorer
from assistant.llm.passage_units import passage_units
from workspaces.search.rerank import chunks_rerank
from workspaces.search.retrieval import RetrievedChunk


def passages_rerank(
    *, query: str, chunks: Sequence[RetrievedChunk], language: str
) -> list[RetrievedChunk]:
    if settings.RERANK_PROVIDER != "local":
        return chunks_rerank(query=query, chunks=chunks)
    return chunks_rerank_local(query=query, chunks=chunks, language=language)


def chunks_rerank_local(
    *, query: str, chunks: Sequence[RetrievedChunk], language: str
) -> list[RetrievedChunk]:
    owners: list[int] = []
    texts: list[str] = []
    for index, chunk in enumerate(chunks):
        for unit in passage_units(
            chunk.text, passage=index, language=language, heading=chunk.heading_path
        ):
            if unit.answerable:
                owners.append(index)
                texts.append(unit_input(unit, heading_path=chunk.heading_path))
    best = np.full(len(chunks), -1.0)
    np.maximum.at(best, owners, answer_scorer().probabilities(query, texts))
    # Ties (no unit at all) keep the fused order.
    order = sorted(range(len(chunks)), key=lambda index: (-best[index], index))
    return [chunks[index] for index in order]
