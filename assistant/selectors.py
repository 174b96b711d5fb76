import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from accounts.models import User
from assistant.models import (
    Citation,
    Conversation,
    Feedback,
    GapStatus,
    Message,
    MessageRole,
    MessageStatus,
    RefusalReason,
)
from workspaces.access import (
    document_ids_readable,
    document_ids_withheld,
    readers_allow,
    workspace_ids_editable,
    workspace_ids_manageable,
    workspace_ids_readable,
)
from workspaces.ingestion.chunking import HEADING_SEPARATOR
from workspaces.models import Chunk, DocumentStatus, Workspace

# Shown instead of an earlier answer's text once its asker may no longer read a workspace
# it quoted: the text would still tell them what that workspace holds.
ANSWER_WITHHELD = (
    "This answer quoted a workspace you no longer have access to, so its text is hidden. "
    "Ask again to get an answer from the workspaces you can read now."
)


def _cited_unreadable(*, user: User) -> Q:
    """Citations of a workspace `user` may not read now, or of a document whose source's
    readers keep it from them. A workspace or document deleted since hides nothing of its
    own (the citation shows "source removed"), but the citation's copies of its title and
    passage stay with the document's readers as they were when it was deleted (copied onto
    the citation then: assistant.citation_readers)."""
    unreadable = Workspace.objects.exclude(id__in=workspace_ids_readable(user=user)).values("id")
    return (
        Q(workspace_id_at_answer__in=unreadable)
        | Q(document_id__in=document_ids_withheld(user=user))
        | (Q(document_id__isnull=True, readers_restricted=True) & ~readers_allow(user=user))
    )


def _quoted_unreadable(*, user: User) -> Exists:
    """Whether an answer cited something `user` may not read now."""
    return Exists(Citation.objects.filter(_cited_unreadable(user=user), message=OuterRef("pk")))


def _withheld(*, user: User) -> Case:
    """ANSWER_WITHHELD for an answer whose text `user` may not see again, else NULL."""
    return Case(
        When(_quoted_unreadable(user=user), then=Value(ANSWER_WITHHELD)),
        default=None,
        output_field=CharField(),
    )


def _texts_withheld(messages: QuerySet[Message]) -> list[Message]:
    """The messages, those annotated `withheld` without their text, so that no page or
    payload can show it."""
    shown = list(messages)
    for message in shown:
        if message.withheld:  # type: ignore[attr-defined]
            message.text = ""
    return shown


def answers_withheld(*, user: User, message_ids: Sequence[int]) -> set[int]:
    """Those of the answers `message_ids` whose text `user` may no longer see: a follow-up
    does not give it to the model either (as conversation history)."""
    return set(
        Message.objects.filter(pk__in=list(message_ids), role=MessageRole.ASSISTANT)
        .filter(_quoted_unreadable(user=user))
        .values_list("pk", flat=True)
    )


def conversation_list(*, user: User, query: str = "") -> QuerySet[Conversation]:
    """The user's conversations, newest first; with a query, those whose title or any
    question or answer contains it (an answer whose text is withheld from them aside)."""
    conversations = Conversation.objects.filter(user=user)
    if query:
        mentioning = Message.objects.filter(
            conversation_id=OuterRef("pk"), text__icontains=query
        ).exclude(_quoted_unreadable(user=user))
        conversations = conversations.filter(Q(title__icontains=query) | Q(Exists(mentioning)))
    return conversations.order_by("-updated_at", "-id")


def conversation_get(*, user: User, conversation_id: int) -> Conversation | None:
    """Only the conversation's owner sees it: not their admin, not anyone else."""
    return Conversation.objects.filter(pk=conversation_id, user=user).first()


def citations_readable(*, user: User) -> QuerySet[Citation]:
    """Citations whose workspace and document the user may read now, or that were deleted
    since (those show as "source removed")."""
    return Citation.objects.exclude(_cited_unreadable(user=user))


def conversation_filters_last(*, conversation: Conversation) -> dict[str, Any]:
    """The filters of the conversation's latest question: a follow-up keeps them unless
    changed."""
    last = (
        Message.objects.filter(conversation=conversation, role=MessageRole.ASSISTANT)
        .order_by("-created_at", "-id")
        .values_list("search_filters", flat=True)
        .first()
    )
    return dict(last or {})


def conversation_messages(*, user: User, conversation: Conversation) -> list[Message]:
    """The thread, each answer with the sources the user may still read; an answer that
    quoted a workspace they may no longer read has its text withheld (`withheld` says why)."""
    citations = Prefetch("citations", queryset=citations_readable(user=user))
    return _texts_withheld(
        conversation.messages.annotate(withheld=_withheld(user=user))
        .prefetch_related(citations, "feedback")
        .order_by("created_at", "id")
    )


def _answer_of(*, user: User, message_id: int) -> QuerySet[Message]:
    """The answer `message_id` if it is one of the user's (their conversations' only)."""
    return Message.objects.filter(
        pk=message_id, conversation__user=user, role=MessageRole.ASSISTANT
    )


def message_get(*, user: User, message_id: int) -> Message | None:
    """One of the user's answers, as conversation_messages gives it."""
    found = _texts_withheld(
        _answer_of(user=user, message_id=message_id)
        .annotate(withheld=_withheld(user=user))
        .select_related("conversation")
        .prefetch_related(Prefetch("citations", queryset=citations_readable(user=user)))[:1]
    )
    return found[0] if found else None


def message_readable(*, user: User, message_id: int) -> bool:
    """Whether message_get would find the answer (without reading it)."""
    return _answer_of(user=user, message_id=message_id).exists()


def question_get(*, user: User, message_id: int) -> Message | None:
    """One of the user's own questions."""
    return (
        Message.objects.filter(pk=message_id, conversation__user=user, role=MessageRole.USER)
        .select_related("conversation")
        .first()
    )


def citation_get_readable(*, user: User, citation_id: int) -> Citation | None:
    """A citation of the user's own answer, from a workspace and document they may still
    read."""
    return (
        Citation.objects.filter(
            pk=citation_id,
            message__conversation__user=user,
            workspace_id_at_answer__in=workspace_ids_readable(user=user),
        )
        .exclude(_cited_unreadable(user=user))
        .select_related("chunk", "document__workspace", "message")
        .first()
    )


def answers_reviewable_by(*, user: User) -> bool:
    """Whether the person reviews answers (feedback, knowledge gaps): owners, admins and the
    managers of some workspace."""
    return workspace_ids_manageable(user=user).exists()


def _reviewable_messages(*, user: User) -> QuerySet[Message]:
    """Finished answers a person reviews: ones that searched a workspace they manage, and
    that, like every earlier answer of their conversation, searched and cited nothing they
    may not read. An answer drawn from a restricted workspace as well stays hidden from a
    manager of the open one: its question, text and quotes would tell them what the
    restricted workspace holds. So does a follow-up to such an answer: it is searched with
    the earlier question joined to it (the stored search query that knowledge gaps show)
    and a model answers it with the earlier exchange in its prompt. (A workspace deleted
    since hides nothing: its content is gone.)"""
    managed = workspace_ids_manageable(user=user)
    unreadable = Workspace.objects.exclude(id__in=workspace_ids_readable(user=user)).values("id")
    cited_unreadable = Citation.objects.filter(_cited_unreadable(user=user), message=OuterRef("pk"))
    drew_on_unreadable = Q(searched_workspace_ids__overlap=ArraySubquery(unreadable)) | Q(
        Exists(cited_unreadable)
    )
    earlier_drew_on_unreadable = Message.objects.filter(
        drew_on_unreadable,
        conversation_id=OuterRef("conversation_id"),
        role=MessageRole.ASSISTANT,
        id__lt=OuterRef("pk"),
    )
    return (
        Message.objects.filter(role=MessageRole.ASSISTANT, status=MessageStatus.DONE)
        .filter(searched_workspace_ids__overlap=ArraySubquery(managed))
        .exclude(drew_on_unreadable)
        .exclude(Exists(earlier_drew_on_unreadable))
    )


def feedback_for_review(*, user: User) -> list[Feedback] | None:
    """Negative first, newest first within each; None when the user reviews nothing."""
    if not answers_reviewable_by(user=user):
        return None
    messages = _reviewable_messages(user=user)
    question = (
        Message.objects.filter(
            conversation_id=OuterRef("message__conversation_id"),
            role=MessageRole.USER,
            id__lt=OuterRef("message_id"),
        )
        .order_by("-id")
        .values("text")[:1]
    )
    return list(
        Feedback.objects.filter(message__in=messages)
        .annotate(question=Subquery(question))
        .select_related("message", "user")
        .prefetch_related("message__citations")
        .order_by("rating", "-updated_at")[:200]
    )


def reviewable_unanswered(*, user: User) -> QuerySet[Message]:
    """The answers that found nothing, among those `user` reviews."""
    return _reviewable_messages(user=user).filter(answered=False)


@dataclass
class Gap:
    questions: list[str]
    count: int
    last_asked: datetime
    message_ids: list[int] = field(default_factory=list)
    embedding: list[float] = field(default_factory=list)  # the newest question's search
    workspace_ids: list[int] = field(default_factory=list)
    # Workspaces searched for it where the reviewer may add an entry.
    writable: list[Workspace] = field(default_factory=list)
    # Why its questions found nothing, as recorded when they were answered (labels).
    reasons: list[str] = field(default_factory=list)


def knowledge_gaps(*, user: User, threshold: float = 0.6, limit: int = 30) -> list[Gap] | None:
    """Open questions the knowledge base had nothing for, grouped by meaning (greedy
    clustering on the retrieval model's embeddings), largest group first. A question that
    documents indexed since answer is no longer open (assistant.gaps.gaps_recheck marked it
    when they were indexed): the page reads what is recorded and searches nothing."""
    if not answers_reviewable_by(user=user):
        return None
    unanswered = (
        reviewable_unanswered(user=user)
        .filter(gap_status=GapStatus.OPEN, search_embedding__isnull=False)
        .order_by("-created_at")
    )
    groups: list[tuple[np.ndarray, Gap]] = []
    rows = unanswered.values_list(
        "id", "search_query", "created_at", "search_embedding", "searched_workspace_ids",
        "refusal_reason",
    )[:500]  # fmt: skip
    for message_id, question, asked_at, embedding, searched, reason in rows:
        vector = np.asarray(embedding)
        best = max(groups, key=lambda g: float(g[0] @ vector), default=None)
        if best is not None and float(best[0] @ vector) >= threshold:
            gap = best[1]
            if question not in gap.questions:
                gap.questions.append(question)
            gap.count += 1
            gap.message_ids.append(message_id)
        else:
            gap = Gap([question], 1, asked_at, [message_id], vector.tolist(), list(searched))
            groups.append((vector, gap))
        label = RefusalReason(reason).label if reason else ""
        if label and label not in gap.reasons:
            gap.reasons.append(label)
    ranked = sorted((gap for _, gap in groups), key=lambda g: (-g.count, -g.last_asked.timestamp()))
    editable = {w.pk: w for w in Workspace.objects.filter(id__in=workspace_ids_editable(user=user))}
    for gap in ranked[:limit]:
        gap.writable = [editable[i] for i in gap.workspace_ids if i in editable]
    return ranked[:limit]


def knowledge_readable_exists(*, user: User, within: Sequence[int] = ()) -> bool:
    """Whether a workspace `user` may read (of `within`; none given: any) holds a passage
    to answer from."""
    readable = document_ids_readable(user=user, within=list(within) or None)
    return Chunk.objects.filter(
        document_id__in=readable, document__status=DocumentStatus.READY
    ).exists()


SECTION_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|Q:)\s+")


def question_suggestions(*, user: User, limit: int = 4) -> list[str]:
    """Example questions drawn from the documents `user` may read: their FAQ questions
    first (a question heading), else what a section heading is about; one per document in
    turn, newest documents first, so the examples show the breadth of what is there."""
    rows = (
        Chunk.objects.filter(
            document_id__in=document_ids_readable(user=user),
            document__status=DocumentStatus.READY,
        )
        .exclude(heading_path="")
        .order_by("-document__updated_at", "document_id", "ordinal")
        .values_list("document_id", "document__title", "heading_path")[:2000]
    )
    questions: dict[int, list[str]] = {}
    topics: dict[int, list[str]] = {}
    for document_id, title, heading_path in rows:
        # "3.2 Can contractors use the VPN?" is asked without its section number.
        heading = SECTION_NUMBER.sub("", heading_path.split(HEADING_SEPARATOR)[-1].strip())
        if heading.endswith("?") and len(heading) <= 120:
            found = questions.setdefault(document_id, [])
            if heading not in found:
                found.append(heading)
        elif 1 <= len(heading.split()) <= 6 and heading != title and heading[-1] not in ".:;,":
            topic = f"What does “{title}” say about {heading[0].lower() + heading[1:]}?"
            found = topics.setdefault(document_id, [])
            if topic not in found:
                found.append(topic)
    chosen: list[str] = []
    for pools in (questions, topics):
        pools_left = [list(pool) for pool in pools.values()]
        while pools_left and len(chosen) < limit:
            for pool in pools_left:
                # Two versions of one file ask the same questions: each is suggested once.
                while pool and pool[0] in chosen:
                    pool.pop(0)
                if pool and len(chosen) < limit:
                    chosen.append(pool.pop(0))
            pools_left = [pool for pool in pools_left if pool]
    return chosen


def upload_destination(*, user: User) -> Workspace | None:
    """Where the Ask page's "upload documents" link leads `user`: the first workspace they
    may add documents to."""
    return (
        Workspace.objects.filter(id__in=workspace_ids_editable(user=user)).order_by("name").first()
    )
