"""Re-ordering the fused candidates by a ranking model, behind RERANK_PROVIDER.

`vertex`: the Vertex AI ranking API (Discovery Engine RankService, `rankingConfigs/
default_ranking_config:rank`) through Google's client library over REST. The answer must not
wait on it for long nor fail with it: past RERANK_TIMEOUT_SECONDS, or on any error of the
call, the fused order stands and the reason is logged.
"""

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings

from workspaces.embedding.google_cloud import google_credentials
from workspaces.search.retrieval import RetrievedChunk

logger = logging.getLogger(__name__)
# `local` is the answer model's (assistant/answer_model/rerank.py): the assistant orders
# the candidates itself, and chunks_rerank leaves them as they came.
PROVIDERS = ("none", "vertex", "local")


def rerank_enabled() -> bool:
    if settings.RERANK_PROVIDER not in PROVIDERS:
        raise ValueError(f"RERANK_PROVIDER={settings.RERANK_PROVIDER!r}: use one of {PROVIDERS}")
    return bool(settings.RERANK_PROVIDER != "none")


def chunks_rerank(*, query: str, chunks: Sequence[RetrievedChunk]) -> list[RetrievedChunk]:
    """`chunks` (the fused order) re-ordered by the ranking model; as they came when
    reranking is off, there is nothing to order, or the model did not answer in time."""
    if settings.RERANK_PROVIDER != "vertex" or len(chunks) < 2:
        return list(chunks)
    from google.api_core import exceptions as google_exceptions
    from google.cloud import discoveryengine_v1 as discoveryengine

    request = discoveryengine.RankRequest(
        ranking_config=_ranking_config(),
        model=settings.RERANK_MODEL,
        query=query,
        top_n=len(chunks),
        records=[
            discoveryengine.RankingRecord(
                id=str(chunk.chunk_id), title=chunk.document_title, content=chunk.text
            )
            for chunk in chunks
        ],
        ignore_record_details_in_response=True,
    )
    try:
        response = _client().rank(
            request=request, timeout=settings.RERANK_TIMEOUT_SECONDS, retry=None
        )
    except (google_exceptions.GoogleAPIError, OSError) as error:
        # requests' timeouts and connection errors are OSErrors; the API's own are
        # GoogleAPIErrors. Either way the fused order is a good answer.
        logger.warning("rerank skipped, fused order kept: %s", error)
        return list(chunks)
    by_id = {str(chunk.chunk_id): chunk for chunk in chunks}
    ranked = [by_id[record.id] for record in response.records if record.id in by_id]
    seen = {chunk.chunk_id for chunk in ranked}
    # Records the model left out keep their fused order behind the ranked ones.
    return ranked + [chunk for chunk in chunks if chunk.chunk_id not in seen]


def _ranking_config() -> str:
    project, location = settings.VERTEX_PROJECT, settings.RERANK_LOCATION
    return f"projects/{project}/locations/{location}/rankingConfigs/default_ranking_config"


@lru_cache(maxsize=1)
def _client() -> Any:
    from google.api_core.client_options import ClientOptions
    from google.cloud import discoveryengine_v1 as discoveryengine

    options: dict[str, Any] = {"transport": "rest", **google_credentials()}
    if settings.RERANK_BASE_URL:
        options["client_options"] = ClientOptions(api_endpoint=settings.RERANK_BASE_URL)
    return discoveryengine.RankServiceClient(**options)


def rerank_client_forget() -> None:
    """Settings changed (tests): the next call builds its client from them."""
    _client.cache_clear()
