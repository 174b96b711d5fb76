"""Answering a question: condense it with the conversation, retrieve, stream the provider's
text, then store the answer with its citations.

`answer_events` is driven by the stream view (async). Every database step goes through
`in_tenant`, so the organization's schema is in force for each call, including those made
after an await. A provider failure ends the message as failed with its reason; a browser
that goes away mid-answer leaves what was generated, marked interrupted.
"""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from assistant.llm import NOT_FOUND, AnswerProvider, Passage, Prepared, ProviderError, Turn, Usage
from assistant.llm import provider_get as provider_get
from assistant.llm.followups import question_focus
from assistant.llm.passage_units import passage_units
from assistant.models import Citation, Conversation, Message, MessageRole, MessageStatus
from billing.caps import cap_question_return
from tenants.schemas import in_tenant, tenant_current
from workspaces.access import workspace_ids_readable
from workspaces.embeddings import embeddings_get
from workspaces.retrieval import chunks_retrieve
from workspaces.selectors import workspace_language

MARKER = re.compile(r"\[(\d{1,3})\]")
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Claim:
    """What a stream needs to answer one assistant message, read once at its start."""

    message_id: int
    user: User
    question: str
    history: tuple[Turn, ...]
    scope_ids: tuple[int, ...]
    provider: str


def searchable_workspace_ids(*, user: User, scope_ids: Sequence[int]) -> list[int]:
    """The conversation's scope (empty: everything) cut down to what the user may read now."""
    return sorted(workspace_ids_readable(user=user, within=list(scope_ids) or None))


def message_claim(*, message_id: int) -> Claim | None:
    """Take the message for this stream: a pending one, or one whose stream died. None when
    it is finished or another stream is answering it."""
    stale = timezone.now() - timedelta(seconds=settings.ASSISTANT_STREAM_STALE_SECONDS)
    with transaction.atomic():
        taken = Message.objects.filter(
            Q(status=MessageStatus.PENDING)
            | Q(status=MessageStatus.STREAMING, updated_at__lt=stale),
            pk=message_id,
            role=MessageRole.ASSISTANT,
        ).update(status=MessageStatus.STREAMING, updated_at=timezone.now())
        if not taken:
            return None
        message = Message.objects.select_related("conversation__user").get(pk=message_id)
        conversation = message.conversation
        earlier = list(
            conversation.messages.filter(created_at__lte=message.created_at)
            .exclude(pk=message.pk)
            .order_by("created_at", "id")
        )
    question = next(m.text for m in reversed(earlier) if m.role == MessageRole.USER)
    turns: list[Turn] = []
    pending_question: str | None = None
    for earlier_message in earlier[:-1]:  # the last one is this question
        if earlier_message.role == MessageRole.USER:
            pending_question = earlier_message.text
        elif pending_question is not None and earlier_message.status == MessageStatus.DONE:
            # The question as it was searched: a follow-up already made standalone, so the
            # next follow-up is read against it, not against its elliptical wording.
            asked = earlier_message.search_query or pending_question
            turns.append(Turn(asked, MARKER.sub("", earlier_message.text).strip()))
            pending_question = None
    return Claim(
        message_id=message_id,
        user=conversation.user,
        question=question,
        history=tuple(turns[-settings.ASSISTANT_HISTORY_TURNS :]),
        scope_ids=tuple(conversation.scope.values_list("id", flat=True)),
        provider=message.provider or settings.ASSISTANT_PROVIDER,
    )


def answer_prepare(*, claim: Claim, query: str, provider: AnswerProvider) -> Prepared:
    """Retrieve the passages (as the user, within the scope) and let the provider plan."""
    workspace_ids = searchable_workspace_ids(user=claim.user, scope_ids=claim.scope_ids)
    # What the question sets aside ("Besides holiday and sick leave, ...") is not searched.
    focus = question_focus(query)
    query_vector = embeddings_get().embed_query(focus)
    Message.objects.filter(pk=claim.message_id).update(
        search_query=query, searched_workspace_ids=workspace_ids, search_embedding=query_vector
    )
    chunks = chunks_retrieve(
        user=claim.user,
        query=focus,
        within=workspace_ids,
        k=settings.ASSISTANT_PASSAGES,
        query_vector=query_vector,
    )
    passages = [Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)]
    language = workspace_language(workspace_id=workspace_ids[0]) if workspace_ids else "english"
    return provider.prepare(
        question=query,
        passages=passages,
        history=claim.history,
        language=language,
        question_vector=query_vector,
        original=claim.question,
    )


def citations_renumber(text: str, numbers: Sequence[int]) -> tuple[str, list[int]]:
    """Drop markers that point to no passage and renumber the rest 1..m in order of first
    appearance; returns the text and the passage number behind each new marker."""
    order: list[int] = []

    def replace(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in numbers:
            return ""
        if number not in order:
            order.append(number)
        return f"[{order.index(number) + 1}]"

    renumbered = MARKER.sub(replace, text)
    tidied = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"(?<=\S)[ \t]{2,}", " ", renumbered))
    return tidied.strip(), order


def _quote(text: str, passage: Passage) -> list[str]:
    """For a model's answer: the passage sentences closest to the claims citing it."""
    claims = [
        sentence
        for sentence in re.split(r"(?<=[.!?])\s+", text)
        if f"[{passage.number}]" in sentence
    ]
    words = {w.lower() for claim in claims for w in WORD.findall(claim)}
    sentences = [
        s
        for s in passage_units(passage.chunk.text, passage=passage.number, language="english")
        if s.answerable
    ]
    scored = sorted(
        sentences, key=lambda s: -len(words & {w.lower() for w in WORD.findall(s.text)})
    )
    return [scored[0].text] if scored else []


def answer_finish(
    *,
    message_id: int,
    text: str,
    usage: Usage,
    passages: Sequence[Passage],
    latency_ms: int,
    first_token_ms: int | None,
) -> None:
    by_number = {p.number: p for p in passages}
    final_text, cited = citations_renumber(text, list(by_number))
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        message.text = final_text
        message.status = MessageStatus.DONE
        message.answered = usage.answered
        message.model = usage.model
        message.input_tokens = usage.input_tokens
        message.output_tokens = usage.output_tokens
        message.latency_ms = latency_ms
        message.first_token_ms = first_token_ms
        if message.counted and not usage.answered:
            # A refusal costs no question: the knowledge base had nothing to answer with.
            cap_question_return(organization=tenant_current(), asked_at=message.created_at)
            message.counted = False
        message.save()
        message.citations.all().delete()
        Citation.objects.bulk_create(
            Citation(
                message=message,
                marker=marker,
                chunk_id=by_number[number].chunk.chunk_id,
                document_id=by_number[number].chunk.document_id,
                workspace_id_at_answer=by_number[number].chunk.workspace_id,
                document_title=by_number[number].chunk.document_title[:300],
                page=by_number[number].chunk.page,
                heading_path=by_number[number].chunk.heading_path[:1000],
                passage_text=by_number[number].chunk.text,
                quote="\n".join(usage.quotes.get(number) or _quote(text, by_number[number])),
                score=by_number[number].chunk.score,
            )
            for marker, number in enumerate(cited, start=1)
        )
        Conversation.objects.filter(pk=message.conversation_id).update(updated_at=timezone.now())


def message_end(*, message_id: int, status: str, text: str = "", reason: str = "") -> None:
    Message.objects.filter(pk=message_id, status=MessageStatus.STREAMING).update(
        status=status, text=text, failure_reason=reason[:300], updated_at=timezone.now()
    )


def message_status(*, message_id: int) -> str:
    return str(Message.objects.values_list("status", flat=True).get(pk=message_id))


async def answer_events(*, tenant: Any, message_id: int) -> AsyncIterator[tuple[str, str]]:
    """("partial", text so far) while the answer grows, then ("done", ""). The caller renders
    the stored message for "done"."""
    claim = await in_tenant(tenant, message_claim, message_id=message_id)
    if claim is None:
        # Finished already (a reconnect), or another stream is answering: wait for it.
        while await in_tenant(tenant, message_status, message_id=message_id) in (
            MessageStatus.STREAMING,
            MessageStatus.PENDING,
        ):
            await asyncio.sleep(0.5)
        yield ("done", "")
        return
    started = time.monotonic()
    text, first_token_ms, ended = "", None, False
    try:
        provider = provider_get(claim.provider)
        query = await provider.acondense(question=claim.question, history=claim.history)
        prepared = await in_tenant(
            tenant, answer_prepare, claim=claim, query=query, provider=provider
        )
        usage = Usage(model=claim.provider, answered=False)
        stream = provider.astream(prepared) if prepared.passages else _not_found(claim.provider)
        async for piece in stream:
            if isinstance(piece, Usage):
                usage = piece
                continue
            if first_token_ms is None:
                first_token_ms = round((time.monotonic() - started) * 1000)
            text += piece
            yield ("partial", text)
        await in_tenant(
            tenant,
            answer_finish,
            message_id=message_id,
            text=text,
            usage=usage,
            passages=prepared.passages,
            latency_ms=round((time.monotonic() - started) * 1000),
            first_token_ms=first_token_ms,
        )
        ended = True
    except ProviderError as error:
        await in_tenant(
            tenant,
            message_end,
            message_id=message_id,
            status=MessageStatus.FAILED,
            text=text,
            reason=error.reason,
        )
        ended = True
    except Exception:
        await in_tenant(
            tenant,
            message_end,
            message_id=message_id,
            status=MessageStatus.FAILED,
            text=text,
            reason="Something went wrong while answering. Try again.",
        )
        ended = True
        raise
    finally:
        if not ended:
            # Cancelled (the browser went away) or closed mid-answer: keep what was
            # generated. Shielded, because this task is being cancelled and the save must
            # still happen.
            await asyncio.shield(
                in_tenant(
                    tenant,
                    message_end,
                    message_id=message_id,
                    status=MessageStatus.INTERRUPTED,
                    text=text,
                    reason="The answer was interrupted before it finished.",
                )
            )
    yield ("done", "")


async def _not_found(provider: str) -> AsyncIterator[str | Usage]:
    yield NOT_FOUND
    yield Usage(model=provider, answered=False)
