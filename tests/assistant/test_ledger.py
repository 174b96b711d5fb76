"""The usage ledger and the answer cache, through the real Vertex client against the local
Vertex-format server: tokens and cost from the usage metadata it returns, the public
ledger's day rows, and repeated questions answered from Redis without the model."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role
from assistant.models import MessageStatus
from billing.models import QuestionUsage, UsageDay
from localdev.vertex_server import VertexLocalServer
from tenants.models import Organization
from tests.assistant.conftest import Handbook, ask, documents_ingested
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document, Workspace
from workspaces.services import document_delete, document_upload, workspace_create


def ledger_today(organization: Organization) -> dict[str, int]:
    row = UsageDay.objects.filter(organization=organization, day=timezone.now().date()).first()
    fields = [f.name for f in UsageDay._meta.concrete_fields if f.name not in ("id", "day")]
    return {name: getattr(row, name) if row else 0 for name in fields if name != "organization"}


def questions_counted(organization: Organization) -> int:
    return sum(QuestionUsage.objects.filter(organization=organization).values_list(
        "questions", flat=True
    ))  # fmt: skip


@pytest.fixture
def cache_on(settings: Any) -> None:
    settings.ANSWER_CACHE_SECONDS = 300


def test_a_vertex_answer_records_tokens_and_cost_from_the_usage_metadata(
    handbook: Handbook, committed: None, vertex: VertexLocalServer
):
    before = ledger_today(handbook.organization)

    answer, _ = ask(handbook.organization, handbook.owner, "How long is parental leave?")

    body = vertex.requests[-1]["body"]
    prompt_words = len(body["contents"][0]["parts"][0]["text"].split())
    system_words = len(body["systemInstruction"]["parts"][0]["text"].split())
    assert answer.status == MessageStatus.DONE
    assert answer.model == "gemini-2.5-flash"
    assert answer.input_tokens == prompt_words + system_words
    assert answer.output_tokens == len(answer.text.split())
    # gemini-2.5-flash: $0.30 in and $2.50 out per million tokens -> micros per token.
    expected = round(0.30 * answer.input_tokens + 2.50 * answer.output_tokens)
    assert answer.cost_micros == expected > 0
    assert not answer.from_cache
    after = ledger_today(handbook.organization)
    assert after["answers"] == before["answers"] + 1
    assert after["input_tokens"] == before["input_tokens"] + answer.input_tokens
    assert after["output_tokens"] == before["output_tokens"] + answer.output_tokens
    assert after["model_cost_micros"] == before["model_cost_micros"] + expected


def test_a_failed_answer_is_counted_in_the_public_ledger(
    handbook: Handbook, committed: None, vertex: VertexLocalServer
):
    before = ledger_today(handbook.organization)
    vertex.fail_status = 500

    answer, _ = ask(handbook.organization, handbook.owner, "Who approves travel?")

    assert answer.status == MessageStatus.FAILED
    after = ledger_today(handbook.organization)
    assert after["answers_failed"] == before["answers_failed"] + 1
    assert after["answers"] == before["answers"]


def test_a_repeated_question_is_answered_from_the_cache_without_the_model(
    handbook: Handbook, committed: None, vertex: VertexLocalServer, cache_on: None
):
    organization, owner = handbook.organization, handbook.owner
    first, _ = ask(organization, owner, "What is the limit for gifts from suppliers?")
    model_calls, before = len(vertex.requests), ledger_today(organization)
    questions_before = questions_counted(organization)

    # Another conversation, other spacing and case: the same standalone question.
    repeat, partials = ask(organization, owner, "what is the limit for  gifts from suppliers?")

    for label, message, calls in (("first", first, model_calls), ("repeat", repeat, 0)):
        # The note quotes this (pytest -s): the repeat costs no model call and no tokens.
        print(
            f"{label:>6}: from_cache={message.from_cache!s:5} model={message.model} "
            f"tokens_in={message.input_tokens or 0:>5} tokens_out={message.output_tokens or 0:>3} "
            f"cost=${message.cost_micros / 1e6:.6f} "
            f"model_requests={calls if label == 'first' else len(vertex.requests) - model_calls}"
        )
    assert len(vertex.requests) == model_calls
    assert repeat.status == MessageStatus.DONE
    assert repeat.from_cache
    assert repeat.text == first.text == partials[-1]
    assert repeat.input_tokens is None and repeat.output_tokens is None
    assert repeat.cost_micros == 0
    cited = [(c.marker, c.chunk_id, c.quote) for c in repeat.citations.all()]
    assert cited == [(c.marker, c.chunk_id, c.quote) for c in first.citations.all()]
    assert {c.pk for c in repeat.citations.all()}.isdisjoint(c.pk for c in first.citations.all())
    after = ledger_today(organization)
    assert after["answers_cached"] == before["answers_cached"] + 1
    assert after["model_cost_micros"] == before["model_cost_micros"]
    assert after["input_tokens"] == before["input_tokens"]
    # A cached answer still answers a question: it counts against the plan's question cap.
    assert questions_counted(organization) == questions_before + 1
    page = signed_in(organization, owner).get(f"/ask/c/{repeat.conversation.pk}/")
    assert "Answered from a recent identical question" in page.content.decode()


def test_a_document_change_in_the_scope_makes_the_model_answer_again(
    handbook: Handbook, committed: None, vertex: VertexLocalServer, cache_on: None
):
    organization, owner, workspace = handbook.organization, handbook.owner, handbook.workspace
    question = "How many vacation days do part-time employees get?"
    ask(organization, owner, question)
    before = ledger_today(organization)
    with tenant_context(organization):
        documents_ingested(owner, workspace, {"canteen.md": b"# Canteen\n\nLunch is at noon."})
        added = Document.objects.get(workspace=workspace, original_name="canteen.md")
    try:
        after_upload = ledger_today(organization)
        calls = len(vertex.requests)
        again, _ = ask(organization, owner, question)
        assert not again.from_cache
        assert len(vertex.requests) == calls + 1
        assert after_upload["documents_ingested"] == before["documents_ingested"] + 1
        assert after_upload["chunks_embedded"] == before["chunks_embedded"] + 1
        assert after_upload["embedding_tokens"] > before["embedding_tokens"]
    finally:
        with tenant_context(organization):
            document_delete(actor=owner, document=added)
    calls = len(vertex.requests)

    after_delete, _ = ask(organization, owner, question)

    assert not after_delete.from_cache
    assert len(vertex.requests) == calls + 1


def test_a_failed_ingestion_is_counted_in_the_public_ledger(handbook: Handbook, committed: None):
    organization, owner, workspace = handbook.organization, handbook.owner, handbook.workspace
    before = ledger_today(organization)
    with tenant_context(organization):
        empty = document_upload(
            actor=owner, workspace=workspace, upload=upload("blank.txt", b""),
            queue_ingestion=False,
        )  # fmt: skip
        documents_ingest(document_ids=[empty.pk])
        empty.refresh_from_db()
        document_delete(actor=owner, document=empty)

    assert empty.status == "failed"
    assert ledger_today(organization)["ingestions_failed"] == before["ingestions_failed"] + 1


@pytest.fixture
def restricted(handbook: Handbook, committed: None) -> Iterator[Workspace]:
    """A second, restricted workspace that only the owner may read (empty: searching it
    changes no other test's answers)."""
    with tenant_context(handbook.organization):
        workspace = workspace_create(actor=handbook.owner, name="Board minutes")
    yield workspace
    with tenant_context(handbook.organization):
        workspace.delete()


def test_a_person_who_may_read_less_does_not_get_anothers_cached_answer(
    handbook: Handbook,
    committed: None,
    vertex: VertexLocalServer,
    cache_on: None,
    restricted: Workspace,
):
    organization, owner = handbook.organization, handbook.owner
    question = "What is the per diem for meals in London?"
    with tenant_context(organization):
        member = make_member(email="reader@northwind.example", role=Role.MEMBER)
    try:
        ask(organization, owner, question)  # searches Handbook and Board minutes
        calls = len(vertex.requests)

        theirs, _ = ask(organization, member, question)  # may read Handbook only

        assert not theirs.from_cache
        assert len(vertex.requests) == calls + 1
        assert theirs.searched_workspace_ids == [handbook.workspace.pk]
        # The same person and scope again: now it is cached for that scope.
        again, _ = ask(organization, member, question)
        assert again.from_cache
        assert len(vertex.requests) == calls + 1
    finally:
        with tenant_context(organization):
            member.delete()
