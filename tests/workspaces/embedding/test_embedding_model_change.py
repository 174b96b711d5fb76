"""Changing an organization's embedding model: every passage is embedded again in the
background (Vertex AI through langchain-google-genai's real client, against the local
Vertex-format server), answers keep the old vectors meanwhile, and the switch is one
transaction. A real Celery worker runs the re-embedding in the end-to-end test."""

import time
from typing import Any

import numpy as np
import pytest
from celery.contrib.testing.worker import start_worker
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from localdev.vertex_server import VertexLocalServer, embedding_for
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD, make_member
from workspaces.embedding.change import reembedding_run, reembedding_start
from workspaces.embedding.model import embedding_text, embeddings_for
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.lanes import large_lane
from workspaces.models import Chunk, ChunkEmbedding, EmbeddingIndex, Workspace
from workspaces.search.retrieval import chunks_retrieve
from workspaces.services import document_create_from_text

ENTRIES = {
    "Annual leave": "Full-time staff receive twenty-five days of annual leave each year.",
    "Expenses": "Submit expense claims within thirty days with the original receipts.",
    "Laptops": "Laptops are replaced every three years by the IT service desk.",
    "Parking": "Visitor parking is on level two; register the car plate at reception.",
}


def _ingested(owner: User, workspace: Workspace, entries: dict[str, str]) -> None:
    documents = [
        document_create_from_text(actor=owner, workspace=workspace, title=title, text=text)
        for title, text in entries.items()
    ]
    documents_ingest(document_ids=[document.pk for document in documents])


def _vectors() -> dict[int, np.ndarray]:
    return {pk: np.asarray(vector) for pk, vector in Chunk.objects.values_list("pk", "embedding")}


def _are_vertex_vectors(chunks: Any) -> bool:
    return all(
        np.allclose(
            chunk.embedding,
            embedding_for(embedding_text(heading_path=chunk.heading_path, text=chunk.text), 384),
            atol=1e-6,
        )
        for chunk in chunks
    )


def _query_predicts(server: VertexLocalServer, text: str) -> int:
    return sum(
        1
        for request in server.requests
        if ":predict" in request["path"]
        and any(i.get("content") == text for i in request["body"]["instances"])
    )


def test_answers_use_the_old_vectors_until_every_passage_has_its_new_one(
    vertex: VertexLocalServer, owner_a: User, workspace: Workspace
) -> None:
    _ingested(owner_a, workspace, ENTRIES)
    before = _vectors()
    reembedding_start(actor=owner_a, model="vertex")

    assert reembedding_run(seconds=0) is True  # one batch, then the run's time is up

    index = EmbeddingIndex.objects.get()
    assert (index.model, index.target) == ("local", "vertex")
    assert (index.chunks_done, index.chunks_total) == (2, len(before))
    assert ChunkEmbedding.objects.count() == 2
    after_one_batch = _vectors()
    assert all(np.array_equal(before[pk], after_one_batch[pk]) for pk in before)
    # A question meanwhile is embedded with the model in force, and finds its passage.
    found = chunks_retrieve(user=owner_a, query="annual leave days", within=[workspace.pk], k=1)
    assert found[0].text == ENTRIES["Annual leave"]
    assert _query_predicts(vertex, "annual leave days") == 0

    # A document ingested during the change is embedded with the model in force, and the
    # re-embedding picks it up before it switches.
    _ingested(owner_a, workspace, {"Canteen": "The canteen opens at eight and closes at three."})
    assert reembedding_run(seconds=60) is False

    index.refresh_from_db()
    assert (index.model, index.target, index.error) == ("vertex", "", "")
    assert index.chunks_done == index.chunks_total == Chunk.objects.count() == len(before) + 1
    assert _are_vertex_vectors(Chunk.objects.all())
    assert not ChunkEmbedding.objects.exists()
    found = chunks_retrieve(user=owner_a, query="canteen opening", within=[workspace.pk], k=1)
    assert found[0].text.startswith("The canteen opens")
    assert _query_predicts(vertex, "canteen opening") == 1
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.EMBEDDING_MODEL_CHANGE_STARTED, AuditAction.EMBEDDING_MODEL_SWITCHED} <= (
        actions
    )


def test_a_document_embedded_while_the_model_switched_is_embedded_again(
    vertex: VertexLocalServer, owner_a: User, workspace: Workspace
) -> None:
    _ingested(owner_a, workspace, ENTRIES)
    reembedding_start(actor=owner_a, model="vertex")
    entry = document_create_from_text(
        actor=owner_a, workspace=workspace, title="Canteen", text="The canteen opens at eight."
    )
    switched: list[bool] = []

    def switch_once(done: int, total: int) -> None:
        # The re-embedding finishes after this document's vectors were made with the old
        # model, before its chunks are written.
        if not switched:
            switched.append(reembedding_run(seconds=60))

    documents_ingest(document_ids=[entry.pk], on_progress=switch_once)

    assert EmbeddingIndex.objects.get().model == "vertex"
    assert _are_vertex_vectors(Chunk.objects.filter(document=entry))
    assert _are_vertex_vectors(Chunk.objects.all())


def test_a_failing_embedding_service_stops_with_its_reason_and_retry_finishes(
    vertex: VertexLocalServer, org_a: Organization, owner_a: User, workspace: Workspace
) -> None:
    _ingested(owner_a, workspace, ENTRIES)
    before = _vectors()
    client = signed_in(org_a, owner_a)
    assert client.post("/embedding-model/change/", {"model": "vertex"}).status_code == 302
    vertex.fail_next = [503, 503]

    assert reembedding_run(seconds=60) is False

    index = EmbeddingIndex.objects.get()
    assert index.model == "local" and index.target == "vertex"
    assert "HTTP 503" in index.error
    assert all(np.array_equal(before[pk], vector) for pk, vector in _vectors().items())
    page = client.get("/embedding-model/").content.decode()
    assert "Re-embedding stopped: The embedding service kept failing (HTTP 503)" in page
    assert "Retry</button>" in page

    assert client.post("/embedding-model/retry/").status_code == 302
    assert reembedding_run(seconds=60) is False

    assert EmbeddingIndex.objects.get().model == "vertex"
    assert _are_vertex_vectors(Chunk.objects.all())
    page = client.get("/embedding-model/").content.decode()
    assert "Vertex AI text-embedding-005</strong>" in page
    assert "Re-embedding stopped" not in page


def test_cancelling_keeps_the_model_and_drops_the_new_vectors(
    vertex: VertexLocalServer, org_a: Organization, owner_a: User, workspace: Workspace
) -> None:
    _ingested(owner_a, workspace, ENTRIES)
    client = signed_in(org_a, owner_a)
    client.post("/embedding-model/change/", {"model": "vertex"})
    reembedding_run(seconds=0)
    assert ChunkEmbedding.objects.exists()

    assert client.post("/embedding-model/cancel/").status_code == 302

    index = EmbeddingIndex.objects.get()
    assert (index.model, index.target) == ("local", "")
    assert not ChunkEmbedding.objects.exists()
    assert reembedding_run(seconds=60) is False  # a task still queued finds nothing to do
    assert EmbeddingIndex.objects.get().model == "local"
    assert AuditEvent.objects.filter(action=AuditAction.EMBEDDING_MODEL_CHANGE_CANCELLED).exists()


def test_a_model_not_offered_is_refused_with_a_sentence(
    org_a: Organization, owner_a: User, settings: Any
) -> None:
    settings.VERTEX_PROJECT = ""  # no Google Cloud project: only the local model is offered
    client = signed_in(org_a, owner_a)

    response = client.post("/embedding-model/change/", {"model": "vertex"})

    assert response.status_code == 400
    assert "“vertex” is not an embedding model offered here." in response.content.decode()
    assert EmbeddingIndex.objects.get().target == ""
    page = client.get("/embedding-model/").content.decode()
    assert "No other embedding model is available here." in page


def test_only_owners_and_admins_have_the_page(
    vertex: VertexLocalServer, org_a: Organization, owner_a: User
) -> None:
    admin = make_member(email="admin@alpha.example", role=Role.ADMIN)
    member = make_member(email="someone@alpha.example", role=Role.MEMBER)

    assert signed_in(org_a, admin).get("/embedding-model/").status_code == 200
    client = signed_in(org_a, member)
    assert client.get("/embedding-model/").status_code == 404
    assert client.post("/embedding-model/change/", {"model": "vertex"}).status_code == 404
    assert EmbeddingIndex.objects.get().target == ""


def test_the_worker_reembeds_and_the_page_shows_the_switch(
    vertex: VertexLocalServer, django_db_setup: None, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Switch",
            slug="switch-test",
            owner_email="boss@switch.example",
            owner_password=OWNER_PASSWORD,
        )
        try:
            with tenant_context(organization):
                workspace = Workspace.objects.create(name="Handbook", slug="handbook")
                _ingested(owner, workspace, ENTRIES)
            client = signed_in(organization, owner)
            page = client.get("/embedding-model/").content.decode()
            assert "all-MiniLM-L6-v2, run on our own servers</strong>" in page
            assert '<option value="vertex">Vertex AI text-embedding-005</option>' in page

            with start_worker(app, pool="solo", perform_ping_check=False, queues=[large_lane()]):
                assert (
                    client.post("/embedding-model/change/", {"model": "vertex"}).status_code == 302
                )
                with tenant_context(organization):
                    deadline = time.monotonic() + 60
                    while EmbeddingIndex.objects.get().model != "vertex":
                        assert time.monotonic() < deadline, EmbeddingIndex.objects.get().error
                        time.sleep(0.1)
                    assert _are_vertex_vectors(Chunk.objects.all())
            page = client.get("/embedding-model/").content.decode()
            assert "Vertex AI text-embedding-005</strong>, since" in page
            assert "hx-trigger" not in page  # nothing left to poll for
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def test_the_local_model_is_loaded_once_for_every_caller() -> None:
    assert embeddings_for("local") is embeddings_for("local")
    with pytest.raises(ValueError, match="use 'local' or 'vertex'"):
        embeddings_for("word2vec")
