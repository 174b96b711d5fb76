"""Reranking through the Vertex AI ranking API's real client (google-cloud-discoveryengine,
REST) against the local Vertex-format server, which scores by query-word overlap."""

import logging
import time
from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context

from assistant.models import MessageStatus
from localdev.vertex_server import VertexLocalServer, rank_records
from tests.assistant.conftest import Handbook, ask
from workspaces.search.rerank import chunks_rerank, rerank_client_forget
from workspaces.search.retrieval import RetrievedChunk, chunks_retrieve

QUESTION = "Can I carry over unused vacation days to next year?"


@pytest.fixture
def ranker(settings) -> Iterator[VertexLocalServer]:
    server = VertexLocalServer().start()
    settings.RERANK_PROVIDER = "vertex"
    settings.RERANK_BASE_URL = server.base_url
    settings.VERTEX_ACCESS_TOKEN = "test-token"
    settings.VERTEX_PROJECT = "test-project"
    settings.RERANK_TIMEOUT_SECONDS = 0.5
    rerank_client_forget()
    yield server
    rerank_client_forget()
    server.stop()


def _fused(handbook: Handbook) -> list[RetrievedChunk]:
    with tenant_context(handbook.organization):
        return chunks_retrieve(user=handbook.owner, query=QUESTION, k=20)


def test_the_ranking_model_reorders_the_fused_candidates(
    handbook: Handbook, committed: None, ranker: VertexLocalServer
):
    fused = _fused(handbook)

    reranked = chunks_rerank(query=QUESTION, chunks=fused)

    request = ranker.requests[-1]
    assert request["path"].startswith(
        "/v1/projects/test-project/locations/global/rankingConfigs/default_ranking_config:rank"
    )
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["authorization"] == "Bearer test-token"
    assert request["body"]["model"] == "semantic-ranker-default@latest"
    assert [r["id"] for r in request["body"]["records"]] == [str(c.chunk_id) for c in fused]
    expected = [record["id"] for record in rank_records(request["body"])]
    assert [str(chunk.chunk_id) for chunk in reranked] == expected
    assert reranked != fused
    assert sorted(c.chunk_id for c in reranked) == sorted(c.chunk_id for c in fused)


def test_a_slow_ranking_model_leaves_the_fused_order_after_the_timeout(
    handbook: Handbook, committed: None, ranker: VertexLocalServer, caplog, settings
):
    fused = _fused(handbook)
    ranker.rank_delay = 2.0
    settings.RERANK_TIMEOUT_SECONDS = 0.2

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="workspaces.search.rerank"):
        reranked = chunks_rerank(query=QUESTION, chunks=fused)

    assert reranked == fused
    assert time.monotonic() - started < 1.5
    assert "fused order kept" in caplog.text


def test_a_failing_ranking_model_leaves_the_fused_order_and_the_answer_still_comes(
    handbook: Handbook, committed: None, ranker: VertexLocalServer, caplog
):
    fused = _fused(handbook)
    ranker.fail_status = 500

    with caplog.at_level(logging.WARNING, logger="workspaces.search.rerank"):
        assert chunks_rerank(query=QUESTION, chunks=fused) == fused
        answer, partials = ask(handbook.organization, handbook.owner, QUESTION)

    assert answer.status == MessageStatus.DONE
    assert partials
    assert answer.citations.exists()
    assert caplog.text.count("fused order kept") == 2


def test_an_answer_is_written_from_the_reranked_passages(
    handbook: Handbook, committed: None, ranker: VertexLocalServer, settings
):
    answer, _ = ask(handbook.organization, handbook.owner, QUESTION)

    assert answer.status == MessageStatus.DONE
    sent = ranker.requests[-1]["body"]
    # The model sees more of the fused list than the answer keeps.
    assert len(sent["records"]) > settings.ASSISTANT_PASSAGES
    kept = {record["id"] for record in rank_records(sent)[: settings.ASSISTANT_PASSAGES]}
    assert {str(citation.chunk_id) for citation in answer.citations.all()} <= kept
