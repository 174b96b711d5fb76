"""Answering a question: condense it with the conversation, retrieve, stream the provider's
text, then store the answer with its citations.

`answer_events` is driven by the stream view (async). Every database step goes through
`in_tenant`, so the organization's schema is in force for each call, including those made
after an await. A provider failure ends the message as failed with its reason; a browser
that goes away mid-answer does not end it: the stream view runs `answer_events` in a task of
its own (`answer_events_detached`) that finishes and stores the answer whether or not anyone
still listens. Only Stop (`answer_stop_request`, a flag in Redis every instance sees) ends
the model call early; what was written so far is kept, marked stopped. A generation that is
itself cancelled (the server shutting down) keeps its text, marked interrupted.
"""

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from assistant.answer_cache import (
    CachedAnswer,
    CachedCitation,
    answer_cache_get,
    answer_cache_key,
    answer_cache_set,
)
from assistant.answer_model.rerank import passages_rerank
from assistant.llm import NOT_FOUND, AnswerProvider, Passage, Prepared, ProviderError, Turn, Usage
from assistant.llm import provider_get as provider_get
from assistant.llm.followups import question_focus
from assistant.llm.passage_units import passage_units
from assistant.models import (
    Citation,
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
    RefusalReason,
)
from assistant.selectors import answers_withheld
from billing.caps import cap_question_return
from billing.ledger import ledger_answer_failed, ledger_answer_record, model_cost_micros
from billing.redis_connection import redis_client
from tenants.schemas import in_tenant, tenant_current
from workspaces.access import (
    document_ids_readable,
    document_ids_withheld,
    workspace_ids_readable,
)
from workspaces.embedding.model import embeddings_in_force
from workspaces.models import Chunk
from workspaces.search.rerank import rerank_enabled
from workspaces.search.retrieval import RetrievalFilters, chunks_retrieve
from workspaces.selectors import workspace_language

logger = logging.getLogger(__name__)

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
    filters: RetrievalFilters
    # False for an answer written again (Regenerate, Retry, a stream taken over): the
    # person asked for a new answer, not the cached one.
    cache_allowed: bool = True
    # Posted where others read it (Conversation.in_channel): documents without readers only.
    shared: bool = False


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
        message = (
            Message.objects.select_related("conversation__user")
            .defer("search_embedding")
            .get(pk=message_id)
        )
        conversation = message.conversation
        earlier = list(
            conversation.messages.filter(created_at__lte=message.created_at)
            .exclude(pk=message.pk)
            .only("pk", "role", "text", "status", "search_query", "created_at")
            .order_by("created_at", "id")
        )
    question = next(m.text for m in reversed(earlier) if m.role == MessageRole.USER)
    withheld = answers_withheld(user=conversation.user, message_ids=[m.pk for m in earlier])
    turns: list[Turn] = []
    pending_question: str | None = None
    for earlier_message in earlier[:-1]:  # the last one is this question
        if earlier_message.role == MessageRole.USER:
            pending_question = earlier_message.text
        elif pending_question is not None and earlier_message.status == MessageStatus.DONE:
            # The question as it was searched: a follow-up already made standalone, so the
            # next follow-up is read against it, not against its elliptical wording.
            asked = earlier_message.search_query or pending_question
            said = "" if earlier_message.pk in withheld else earlier_message.text
            turns.append(Turn(asked, MARKER.sub("", said).strip()))
            pending_question = None
    return Claim(
        message_id=message_id,
        user=conversation.user,
        question=question,
        history=tuple(turns[-settings.ASSISTANT_HISTORY_TURNS :]),
        scope_ids=tuple(conversation.scope.values_list("id", flat=True)),
        provider=message.provider or settings.ASSISTANT_PROVIDER,
        filters=RetrievalFilters.from_dict(message.search_filters),
        # Searched before: this message was answered (or began to be) once already.
        cache_allowed=not message.search_query,
        shared=conversation.in_channel,
    )


@dataclass(frozen=True)
class CacheLookup:
    key: str | None
    workspace_ids: list[int]
    hit: CachedAnswer | None


def answer_cache_lookup(*, claim: Claim, query: str, provider: AnswerProvider) -> CacheLookup:
    """The readable workspaces for this question, and the cached answer to the same
    standalone question over them, if there is one whose sources are all still there."""
    workspace_ids = searchable_workspace_ids(user=claim.user, scope_ids=claim.scope_ids)
    # Two people who read the same workspaces may be kept from different documents of them
    # by their sources' readers: they share an answer only when they are kept from the same.
    withheld = sorted(
        document_ids_withheld(user=claim.user, workspace_ids=workspace_ids, shared=claim.shared)
    )
    key = answer_cache_key(
        provider=provider, question=query, workspace_ids=workspace_ids, filters=claim.filters,
        withheld_document_ids=withheld,
    )  # fmt: skip
    hit = answer_cache_get(key=key) if key and claim.cache_allowed else None
    if hit is not None:
        cited = {citation.chunk_id for citation in hit.citations}
        readable = document_ids_readable(user=claim.user, within=workspace_ids, shared=claim.shared)
        present = Chunk.objects.filter(pk__in=cited, document_id__in=readable).count()
        if present != len(cited):
            hit = None
    return CacheLookup(key=key, workspace_ids=workspace_ids, hit=hit)


def answer_prepare(
    *,
    claim: Claim,
    query: str,
    provider: AnswerProvider,
    workspace_ids: Sequence[int] | None = None,
) -> Prepared:
    """Retrieve the passages (as the user, within the scope) and let the provider plan.
    `workspace_ids`: the readable scope already worked out (answer_cache_lookup)."""
    if workspace_ids is None:
        workspace_ids = searchable_workspace_ids(user=claim.user, scope_ids=claim.scope_ids)
    workspace_ids = list(workspace_ids)
    # What the question sets aside ("Besides holiday and sick leave, ...") is not searched.
    focus = question_focus(query)
    query_vector = embeddings_in_force().embed_query(focus)
    Message.objects.filter(pk=claim.message_id).update(
        search_query=query, searched_workspace_ids=workspace_ids, search_embedding=query_vector
    )
    wanted = settings.ASSISTANT_PASSAGES
    chunks = chunks_retrieve(
        user=claim.user,
        query=focus,
        within=workspace_ids,
        # A ranking model picks the passages from more of the fused list than it keeps.
        k=max(settings.RERANK_CANDIDATES, wanted) if rerank_enabled() else wanted,
        query_vector=query_vector,
        filters=claim.filters,
        distinct=True,
        shared=claim.shared,
    )
    language = workspace_language(workspace_id=workspace_ids[0]) if workspace_ids else "english"
    chunks = passages_rerank(query=focus, chunks=chunks, language=language)[:wanted]
    passages = [Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)]
    return provider.prepare(
        question=query,
        passages=passages,
        history=claim.history,
        language=language,
        workspace_ids=workspace_ids,
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
    """For a model's answer: the passage sentences closest to the answer's sentences that
    cite it."""
    citing = [
        sentence
        for sentence in re.split(r"(?<=[.!?])\s+", text)
        if f"[{passage.number}]" in sentence
    ]
    words = {w.lower() for sentence in citing for w in WORD.findall(sentence)}
    sentences = [
        s
        for s in passage_units(passage.chunk.text, passage=passage.number, language="english")
        if s.answerable
    ]
    scored = sorted(
        sentences, key=lambda s: -len(words & {w.lower() for w in WORD.findall(s.text)})
    )
    return [scored[0].text] if scored else []


def _refused_question_returned(message: Message) -> None:
    if message.counted and not message.answered:
        # A refusal costs no question: the knowledge base had nothing to answer with.
        cap_question_return(organization=tenant_current(), asked_at=message.created_at)
        message.counted = False


def answer_finish(
    *,
    message_id: int,
    text: str,
    usage: Usage,
    passages: Sequence[Passage],
    latency_ms: int,
    first_token_ms: int | None,
    cache_key: str | None = None,
    status: str = MessageStatus.DONE,
) -> None:
    """Store the answer with its citations, its tokens and cost (the per-answer ledger and
    the organization's day in the public one), and keep it for a repeat of the question
    under `cache_key`. `status`: stopped for the part of an answer written before Stop."""
    by_number = {p.number: p for p in passages}
    final_text, cited = citations_renumber(text, list(by_number))
    citations = [
        CachedCitation(
            marker=marker,
            chunk_id=by_number[number].chunk.chunk_id,
            document_id=by_number[number].chunk.document_id,
            workspace_id=by_number[number].chunk.workspace_id,
            document_title=by_number[number].chunk.document_title[:300],
            page=by_number[number].chunk.page,
            heading_path=by_number[number].chunk.heading_path[:1000],
            passage_text=by_number[number].chunk.text,
            quote="\n".join(usage.quotes.get(number) or _quote(text, by_number[number])),
            score=by_number[number].chunk.score,
        )
        for marker, number in enumerate(cited, start=1)
    ]
    with transaction.atomic():
        message = _answer_store(
            message_id=message_id,
            answer=CachedAnswer(
                text=final_text, answered=usage.answered, model=usage.model,
                citations=citations, search_embedding=None, refusal=usage.refusal,
            ),
            tokens=(usage.input_tokens, usage.output_tokens),
            from_cache=False,
            status=status,
            latency_ms=latency_ms,
            first_token_ms=first_token_ms,
        )  # fmt: skip
        if cache_key is not None:
            cached = _stored_answer(message, citations)
            transaction.on_commit(lambda: answer_cache_set(key=cache_key, answer=cached))


def _stored_answer(message: Message, citations: list[CachedCitation]) -> CachedAnswer:
    """What a repeat of the question is answered with: the stored answer and its citations."""
    return CachedAnswer(
        text=message.text,
        answered=message.answered,
        model=message.model,
        citations=citations,
        search_embedding=(
            [float(x) for x in message.search_embedding]
            if message.search_embedding is not None
            else None
        ),
        refusal=message.refusal_reason,
    )


def answer_from_cache(
    *,
    message_id: int,
    query: str,
    workspace_ids: Sequence[int],
    hit: CachedAnswer,
    condense: Usage | None,
    latency_ms: int,
) -> None:
    """Store a cached answer as this message's own, with citations of its own (the same
    passages). No model ran for it: no tokens and no cost, but for condensing a follow-up
    into the standalone question the cache is keyed by, when a model did that."""
    _answer_store(
        message_id=message_id,
        answer=hit,
        tokens=(condense.input_tokens or 0, condense.output_tokens or 0) if condense else None,
        token_model=condense.model if condense else "",
        from_cache=True,
        status=MessageStatus.DONE,
        latency_ms=latency_ms,
        first_token_ms=latency_ms,
        search_query=query,
        searched_workspace_ids=list(workspace_ids),
        search_embedding=hit.search_embedding,
    )


def _answer_store(
    *,
    message_id: int,
    answer: CachedAnswer,
    tokens: tuple[int | None, int | None] | None,
    from_cache: bool,
    status: str,
    latency_ms: int,
    first_token_ms: int | None,
    token_model: str | None = None,
    **fields: Any,
) -> Message:
    """The one write of a finished answer, fresh or from the cache: the message's text,
    status, model, tokens (None: no model ran) and their cost, `fields` (what was searched),
    the question given back if nothing answered it, its citations, the conversation's
    time and the ledger's row. `token_model` prices the tokens when another model than the
    answer's spent them (a cached answer's follow-up condensing)."""
    input_tokens, output_tokens = tokens or (None, None)
    priced_model = answer.model if token_model is None else token_model
    cost = (
        model_cost_micros(
            model=priced_model, input_tokens=input_tokens or 0, output_tokens=output_tokens or 0
        )
        if tokens is not None and priced_model
        else 0
    )
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        message.text = answer.text
        message.status = status
        message.answered = answer.answered
        message.refusal_reason = "" if answer.answered else answer.refusal
        message.model = answer.model
        message.input_tokens, message.output_tokens = input_tokens, output_tokens
        message.cost_micros = cost
        message.from_cache = from_cache
        message.latency_ms, message.first_token_ms = latency_ms, first_token_ms
        for name, value in fields.items():
            setattr(message, name, value)
        _refused_question_returned(message)
        message.save()
        message.citations.all().delete()
        Citation.objects.bulk_create(
            Citation(
                message=message, marker=c.marker, chunk_id=c.chunk_id,
                document_id=c.document_id, workspace_id_at_answer=c.workspace_id,
                document_title=c.document_title, page=c.page, heading_path=c.heading_path,
                passage_text=c.passage_text, quote=c.quote, score=c.score,
            )
            for c in answer.citations
        )  # fmt: skip
        Conversation.objects.filter(pk=message.conversation_id).update(updated_at=timezone.now())
        ledger_answer_record(
            organization=tenant_current(), model=answer.model, input_tokens=input_tokens or 0,
            output_tokens=output_tokens or 0, cost_micros=cost, cached=from_cache,
        )  # fmt: skip
    return message


def message_end(*, message_id: int, status: str, text: str = "", reason: str = "") -> None:
    with transaction.atomic():
        ended = Message.objects.filter(pk=message_id, status=MessageStatus.STREAMING).update(
            status=status, text=text, failure_reason=reason[:300], updated_at=timezone.now()
        )
        if ended and status == MessageStatus.FAILED:
            ledger_answer_failed(organization=tenant_current())


HEARTBEAT_SECONDS = 10


def message_alive(*, message_id: int) -> None:
    Message.objects.filter(pk=message_id, status=MessageStatus.STREAMING).update(
        updated_at=timezone.now()
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
    # A Stop left over from an earlier answer to this message (Retry after Stop) is not
    # for this one; a Stop before the claim stopped the pending message outright.
    stop = StopCheck(tenant=tenant, message_id=message_id)
    await stop.clear()
    try:
        provider = provider_get(claim.provider)
        query = await provider.acondense(question=claim.question, history=claim.history)
        lookup = await in_tenant(
            tenant, answer_cache_lookup, claim=claim, query=query, provider=provider
        )
        if lookup.hit is not None:
            yield ("partial", lookup.hit.text)
            await in_tenant(
                tenant,
                answer_from_cache,
                message_id=message_id,
                query=query,
                workspace_ids=lookup.workspace_ids,
                hit=lookup.hit,
                condense=provider.condense_usage,
                latency_ms=round((time.monotonic() - started) * 1000),
            )
            ended = True
            yield ("done", "")
            return
        prepared = await in_tenant(
            tenant,
            answer_prepare,
            claim=claim,
            query=query,
            provider=provider,
            workspace_ids=lookup.workspace_ids,
        )
        usage = Usage(model=claim.provider, answered=False)
        stream = provider.astream(prepared) if prepared.passages else _not_found(claim.provider)
        stopped, alive_at = False, time.monotonic()
        async for piece in stream:
            if isinstance(piece, Usage):
                usage = piece
                continue
            if first_token_ms is None:
                first_token_ms = round((time.monotonic() - started) * 1000)
            text += piece
            yield ("partial", text)
            if time.monotonic() - alive_at > HEARTBEAT_SECONDS:
                # Still being answered: not stale, so a reconnecting page waits rather than
                # starting a second generation (ASSISTANT_STREAM_STALE_SECONDS).
                alive_at = time.monotonic()
                await in_tenant(tenant, message_alive, message_id=message_id)
            if await stop.requested():
                stopped = True
                break
        if stopped:
            # Closing the provider's stream ends its model call (the HTTP response is closed).
            await stream.aclose()  # type: ignore[attr-defined]
            await in_tenant(
                tenant,
                answer_finish,
                message_id=message_id,
                text=text,
                usage=Usage(model=claim.provider, answered=bool(text.strip())),
                passages=prepared.passages,
                latency_ms=round((time.monotonic() - started) * 1000),
                first_token_ms=first_token_ms,
                status=MessageStatus.STOPPED,
            )
            ended = True
            yield ("done", "")
            return
        if provider.condense_usage is not None:
            # Condensing the follow-up was a model call of its own: its tokens count too.
            usage.input_tokens = (usage.input_tokens or 0) + (
                provider.condense_usage.input_tokens or 0
            )
            usage.output_tokens = (usage.output_tokens or 0) + (
                provider.condense_usage.output_tokens or 0
            )
        await in_tenant(
            tenant,
            answer_finish,
            message_id=message_id,
            text=text,
            usage=usage,
            passages=prepared.passages,
            latency_ms=round((time.monotonic() - started) * 1000),
            first_token_ms=first_token_ms,
            cache_key=lookup.key,
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
    yield Usage(model=provider, answered=False, refusal=RefusalReason.NOTHING_RETRIEVED)


def _stop_key(*, tenant: Any, message_id: int) -> str:
    return f"answer-stop:{tenant.schema_name}:{message_id}"


def answer_stop_request(*, tenant: Any, message_id: int) -> None:
    """Ask the generation of this answer, wherever it runs, to stop: a flag in Redis that
    the generating instance reads between pieces. An answer nobody has started yet is
    stopped here and now."""
    try:
        redis_client().set(_stop_key(tenant=tenant, message_id=message_id), b"1", ex=600)
    except redis.RedisError:
        logger.warning("Could not ask answer %s to stop: Redis is unreachable", message_id)
    Message.objects.filter(pk=message_id, status=MessageStatus.PENDING).update(
        status=MessageStatus.STOPPED, updated_at=timezone.now()
    )


class StopCheck:
    """Whether Stop was asked for, read from Redis at most every STOP_POLL_SECONDS (a model
    writes many pieces a second)."""

    STOP_POLL_SECONDS = 0.2

    def __init__(self, *, tenant: Any, message_id: int) -> None:
        self.key = _stop_key(tenant=tenant, message_id=message_id)
        self.checked_at = 0.0

    async def clear(self) -> None:
        with contextlib.suppress(redis.RedisError):
            await asyncio.to_thread(redis_client().delete, self.key)

    async def requested(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at < self.STOP_POLL_SECONDS:
            return False
        self.checked_at = now
        try:
            return bool(await asyncio.to_thread(redis_client().exists, self.key))
        except redis.RedisError:
            return False


# The generations running in this process: the event loop keeps only weak references to
# tasks, and one that lost its listener must still run to the end.
_generating: set[asyncio.Task[None]] = set()


def _generation_ended(task: asyncio.Task[None]) -> None:
    _generating.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("Answer generation failed", exc_info=task.exception())


async def answer_events_detached(*, tenant: Any, message_id: int) -> AsyncIterator[tuple[str, str]]:
    """The events of `answer_events`, generated in a task of its own: the listener going
    away (the browser left, the ASGI handler cancels the response) ends only this relay,
    and the answer is still finished and stored."""
    queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()

    async def generate() -> None:
        try:
            async for event in answer_events(tenant=tenant, message_id=message_id):
                queue.put_nowait(event)
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(generate())
    _generating.add(task)
    task.add_done_callback(_generation_ended)
    while (event := await queue.get()) is not None:
        # A partial carries the whole text so far: a listener that fell behind (a busy
        # server renders each one) skips to the latest instead of rendering every piece.
        while event[0] == "partial" and not queue.empty():
            following = queue.get_nowait()
            if following is None or following[0] != "partial":
                yield event
                event = following
                break
            event = following
        if event is None:
            break
        yield event
