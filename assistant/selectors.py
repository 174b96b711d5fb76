from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import User
from assistant.models import (
    Chunk,
    Citation,
    Conversation,
    Feedback,
    Message,
    MessageRole,
    MessageStatus,
)
from workspaces.models import Document, WorkspaceGrant, WorkspaceRole
from workspaces.selectors import ORGANIZATION_MANAGERS, workspace_readable_ids


def chunk_list(*, document: Document) -> QuerySet[Chunk]:
    """A document's chunks; the caller has already checked the document is readable."""
    return Chunk.objects.filter(document=document).defer("embedding", "search").order_by("ordinal")


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    return Conversation.objects.filter(user=user).order_by("-updated_at", "-id")


def conversation_get(*, user: User, conversation_id: int) -> Conversation | None:
    """Only the conversation's owner sees it: not their admin, not anyone else."""
    return Conversation.objects.filter(pk=conversation_id, user=user).first()


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return list(
        conversation.messages.prefetch_related("citations", "feedback").order_by("created_at", "id")
    )


def message_get(*, user: User, message_id: int) -> Message | None:
    return (
        Message.objects.filter(pk=message_id, conversation__user=user, role=MessageRole.ASSISTANT)
        .select_related("conversation")
        .first()
    )


def citation_get_readable(*, user: User, citation_id: int) -> Citation | None:
    """A citation of the user's own answer, from a workspace they may still read."""
    return (
        Citation.objects.filter(
            pk=citation_id,
            message__conversation__user=user,
            workspace_id_at_answer__in=workspace_readable_ids(user=user),
        )
        .select_related("chunk", "document__workspace", "message")
        .first()
    )


def chunk_neighbours(*, chunk: Chunk) -> tuple[Chunk | None, Chunk | None]:
    """The passages just before and after `chunk` in its document, for context."""
    around = {
        c.ordinal: c
        for c in Chunk.objects.filter(
            document_id=chunk.document_id, ordinal__in=[chunk.ordinal - 1, chunk.ordinal + 1]
        ).defer("embedding", "search")
    }
    return around.get(chunk.ordinal - 1), around.get(chunk.ordinal + 1)


def reviewable_workspace_ids(*, user: User) -> list[int] | None:
    """Whose answers' feedback and gaps a person reviews: everything for owners and admins
    (None), the workspaces they manage for workspace managers, nothing for others."""
    if user.role in ORGANIZATION_MANAGERS:
        return None
    return list(
        WorkspaceGrant.objects.filter(role=WorkspaceRole.MANAGER)
        .filter(Q(user=user) | Q(group__user=user))
        .values_list("workspace_id", flat=True)
        .distinct()
    )


def _reviewable_messages(*, user: User) -> QuerySet[Message] | None:
    workspace_ids = reviewable_workspace_ids(user=user)
    if workspace_ids == []:
        return None
    messages = Message.objects.filter(role=MessageRole.ASSISTANT, status=MessageStatus.DONE)
    if workspace_ids is not None:
        messages = messages.filter(searched_workspace_ids__overlap=workspace_ids)
    return messages


def feedback_for_review(*, user: User) -> list[Feedback] | None:
    """Negative first, newest first within each; None when the user reviews nothing."""
    messages = _reviewable_messages(user=user)
    if messages is None:
        return None
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


@dataclass
class Gap:
    questions: list[str]
    count: int
    last_asked: datetime


def knowledge_gaps(*, user: User, threshold: float = 0.6) -> list[Gap] | None:
    """Questions the knowledge base had nothing for, grouped by meaning (greedy clustering
    on the retrieval model's embeddings), largest group first."""
    messages = _reviewable_messages(user=user)
    if messages is None:
        return None
    unanswered = messages.filter(answered=False, search_embedding__isnull=False).order_by(
        "-created_at"
    )
    groups: list[tuple[np.ndarray, Gap]] = []
    for question, asked_at, embedding in unanswered.values_list(
        "search_query", "created_at", "search_embedding"
    )[:500]:
        vector = np.asarray(embedding)
        best = max(groups, key=lambda g: float(g[0] @ vector), default=None)
        if best is not None and float(best[0] @ vector) >= threshold:
            gap = best[1]
            if question not in gap.questions:
                gap.questions.append(question)
            gap.count += 1
        else:
            groups.append((vector, Gap([question], 1, asked_at)))
    return sorted((gap for _, gap in groups), key=lambda g: (-g.count, -g.last_asked.timestamp()))
