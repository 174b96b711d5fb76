"""Answers to repeated questions, kept in Redis.

A question asked again (the same standalone question, after a follow-up is condensed) over
the same readable workspaces, with the same index versions of those workspaces, the same
model and the same prompt, is answered from here without calling the model. The key holds
all of that, hashed:
- the readable workspace ids come from the access policy at the time of asking, so a
  person who may read fewer (or other) workspaces has another key and never gets an answer
  built from passages they may not read;
- each workspace's index version moves on with every upload, replacement, rename, indexing
  and deletion in it (workspaces.index_version), so a change in the scope makes the cached
  answers over it unreachable; they expire after ANSWER_CACHE_SECONDS.
The filters chosen with the question (tags, types, updated after) are in the key, so an
answer over a narrower scope never answers the wider question or another narrow one; tag
changes move the index version on. The organization's schema is in the key too. Redis
being unreachable is a cache miss.
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from assistant.llm import AnswerProvider
from billing.redis_connection import redis_client
from tenants.schemas import schema_name_current
from workspaces.embedding.model import embedding_model_in_force, embeddings_model_id
from workspaces.index_version import index_versions
from workspaces.search.retrieval import RetrievalFilters

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedCitation:
    marker: int
    chunk_id: int
    document_id: int
    workspace_id: int
    document_title: str
    page: int | None
    heading_path: str
    passage_text: str
    quote: str
    score: float


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    answered: bool
    model: str
    citations: list[CachedCitation]
    search_embedding: list[float] | None
    refusal: str = ""  # why an answer that found nothing found nothing


def question_normalised(question: str) -> str:
    """The same question in other case or spacing is the same question."""
    return " ".join(question.split()).casefold()


def answer_cache_key(
    *,
    provider: AnswerProvider,
    question: str,
    workspace_ids: Sequence[int],
    filters: RetrievalFilters | None = None,
    withheld_document_ids: Sequence[int] = (),
) -> str | None:
    """The key for this question over these (readable) workspaces now, less the documents
    of them the asker may not read (`withheld_document_ids`, workspaces.access); None when
    the cache is off or there is nothing to search."""
    if settings.ANSWER_CACHE_SECONDS <= 0 or not workspace_ids:
        return None
    parts = {
        "schema": schema_name_current(),
        "question": question_normalised(question),
        "workspaces": index_versions(workspace_ids=workspace_ids),
        "filters": (filters or RetrievalFilters()).as_dict(),
        "withheld": sorted(withheld_document_ids),
        "provider": provider.name,
        "model": provider.model,
        "prompt": provider.prompt_version,
        # Other vectors retrieve other passages.
        "embeddings": embeddings_model_id(embedding_model_in_force()),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    # The schema in the key's name too: deleting an organization finds its keys by it.
    return f"{settings.ANSWER_CACHE_PREFIX}:{schema_name_current()}:{digest}"


def answer_cache_get(*, key: str) -> CachedAnswer | None:
    try:
        raw = redis_client().get(key)
    except redis.RedisError as error:
        logger.warning("answer cache unreadable, answering anew: %s", error)
        return None
    if raw is None:
        return None
    data: dict[str, Any] = json.loads(raw)
    return CachedAnswer(
        text=data["text"],
        answered=data["answered"],
        model=data["model"],
        citations=[CachedCitation(**citation) for citation in data["citations"]],
        search_embedding=data.get("search_embedding"),
        refusal=data.get("refusal", ""),
    )


def answer_cache_set(*, key: str, answer: CachedAnswer) -> None:
    payload = {
        "text": answer.text,
        "answered": answer.answered,
        "model": answer.model,
        "citations": [citation.__dict__ for citation in answer.citations],
        "search_embedding": answer.search_embedding,
        "refusal": answer.refusal,
    }
    try:
        redis_client().set(key, json.dumps(payload), ex=settings.ANSWER_CACHE_SECONDS)
    except redis.RedisError as error:
        logger.warning("answer not cached: %s", error)
