"""EMBEDDINGS_PROVIDER=vertex: langchain-google-genai's real client against the local
Vertex-format server (localdev/vertex_server.py), which answers `:predict` as Vertex does."""

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from accounts.models import User
from localdev.vertex_server import VertexLocalServer, embedding_for
from workspaces.embedding.model import embeddings_default, embeddings_model_id
from workspaces.ingestion.tasks import document_ingest_task
from workspaces.models import DocumentStatus, EmbeddingIndex, Workspace
from workspaces.services import document_upload

TEXTS = [f"Passage {n} about topic number {n}." for n in range(5)]


@pytest.fixture
def vertex(settings: Any) -> Iterator[VertexLocalServer]:
    server = VertexLocalServer().start()
    settings.EMBEDDINGS_PROVIDER = "vertex"
    settings.VERTEX_BASE_URL = server.base_url
    settings.VERTEX_ACCESS_TOKEN = "test-token"
    settings.VERTEX_PROJECT = "test-project"
    settings.VERTEX_EMBEDDING_BATCH_SIZE = 2
    settings.VERTEX_EMBEDDING_ATTEMPTS = 3
    settings.VERTEX_EMBEDDING_BACKOFF_SECONDS = 0.01
    yield server
    server.stop()


@pytest.fixture
def on_vertex(vertex: VertexLocalServer, workspace: Workspace) -> VertexLocalServer:
    """Organization A's passages are embedded with Vertex AI (its EmbeddingIndex says so)."""
    EmbeddingIndex.objects.filter(pk=1).update(model="vertex")
    return vertex


def _predicts(server: VertexLocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if ":predict" in r["path"]]


def test_vectors_come_back_in_order_a_batch_per_request(vertex: VertexLocalServer) -> None:
    vectors = embeddings_default().embed_documents(TEXTS)

    assert np.allclose(vectors, [embedding_for(text, 384) for text in TEXTS])
    requests = _predicts(vertex)
    assert [[i["content"] for i in r["body"]["instances"]] for r in requests] == [
        TEXTS[0:2],
        TEXTS[2:4],
        TEXTS[4:5],
    ]
    assert all(r["body"]["parameters"]["outputDimensionality"] == 384 for r in requests)
    assert "/models/text-embedding-005:predict" in requests[0]["path"]
    assert requests[0]["headers"]["Authorization"] == "Bearer test-token"
    assert embeddings_model_id() == "vertex/text-embedding-005/384"


def test_a_429_then_a_503_are_retried(vertex: VertexLocalServer) -> None:
    vertex.fail_next = [429, 503]

    vector = embeddings_default().embed_query("annual leave")

    assert np.allclose(vector, embedding_for("annual leave", 384))
    assert len(_predicts(vertex)) == 3


def test_a_persistent_error_fails_the_document_with_a_sentence(
    on_vertex: VertexLocalServer, workspace: Workspace, owner_a: User
) -> None:
    on_vertex.fail_status = 429
    document = document_upload(
        actor=owner_a,
        workspace=workspace,
        upload=_text("leave.txt", "Employees accrue 25 days of annual leave a year."),
        queue_ingestion=False,
    )

    document_ingest_task(document.pk)

    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error == ("The embedding service is over its quota (HTTP 429). Retry later.")
    assert len(_predicts(on_vertex)) == 3  # VERTEX_EMBEDDING_ATTEMPTS


def test_a_refused_request_is_not_retried(vertex: VertexLocalServer) -> None:
    from workspaces.embedding.backends import EmbeddingServiceError

    vertex.fail_status = 400
    with pytest.raises(EmbeddingServiceError, match=r"refused the request \(HTTP 400\)"):
        embeddings_default().embed_query("anything")
    assert len(_predicts(vertex)) == 1


def _text(name: str, text: str) -> Any:
    from tests.files import upload

    return upload(name, text.encode(), "text/plain")


def test_a_document_embedded_on_vertex_is_found_by_a_vector_search(
    on_vertex: VertexLocalServer, workspace: Workspace, owner_a: User
) -> None:
    from workspaces.search.retrieval import chunks_retrieve

    for name, text in [
        ("leave.txt", "Employees accrue 25 days of annual leave a year."),
        ("robot.txt", "The NR-350 robot arm carries payloads of up to 12 kg."),
    ]:
        document = document_upload(
            actor=owner_a, workspace=workspace, upload=_text(name, text), queue_ingestion=False
        )
        document_ingest_task(document.pk)
        document.refresh_from_db()
        assert document.status == DocumentStatus.READY

    found = chunks_retrieve(
        user=owner_a, query="payloads of the robot arm", within=[workspace.pk], mode="vector"
    )

    assert found[0].text.startswith("The NR-350 robot arm")


def test_switching_the_embedding_model_changes_the_answer_cache_key(
    settings: Any, workspace: Workspace
) -> None:
    from assistant.answer_cache import answer_cache_key
    from assistant.llm import provider_get

    settings.ANSWER_CACHE_SECONDS = 60
    provider = provider_get("extractive")

    def key() -> str | None:
        return answer_cache_key(provider=provider, question="Leave?", workspace_ids=[workspace.pk])

    local = key()
    EmbeddingIndex.objects.filter(pk=1).update(model="vertex")  # the organization switched
    on_vertex = key()
    settings.VERTEX_EMBEDDING_MODEL = "gemini-embedding-001"

    assert len({local, on_vertex, key()}) == 3
