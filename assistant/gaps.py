"""Writes on knowledge gaps: a reviewer marks a group of unanswered questions resolved
(written up) or dismissed (not worth an entry); either takes it off the gap page. When
documents become searchable, the open questions that searched their workspaces are asked
again, and those the documents answer now leave the page by themselves (`answered`)."""

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from accounts.models import User
from assistant.llm import Passage
from assistant.llm.extractive import answer_plan
from assistant.llm.followups import question_focus
from assistant.models import GapStatus, Message
from assistant.selectors import reviewable_unanswered
from workspaces.access import workspace_ids_readable
from workspaces.search.retrieval import chunks_retrieve
from workspaces.selectors import workspace_language

logger = logging.getLogger(__name__)

# Open questions asked again per indexing, newest first: a bound on the work a document's
# ingestion does for the gaps page (a gap is a group of such questions).
RECHECK_LIMIT = 50


class GapRefused(Exception):
    """The gap cannot be closed; the message says why, for the reviewer."""


def gap_close(*, user: User, message_ids: Sequence[int], status: str) -> int:
    """Close the unanswered questions `message_ids` that `user` reviews; returns how many.
    Questions they do not review are left alone, as if they were not named."""
    if status not in (GapStatus.RESOLVED, GapStatus.DISMISSED):
        raise GapRefused("Choose whether the gap is resolved or dismissed.")
    if not message_ids:
        raise GapRefused("Name the questions of the gap to close.")
    return (
        reviewable_unanswered(user=user).filter(id__in=list(message_ids)).update(gap_status=status)
    )


def gaps_recheck(*, workspace_ids: Sequence[int], limit: int = RECHECK_LIMIT) -> int:
    """Ask again, as it was asked (the same standalone question, its stored embedding, the
    same workspaces, by the person who asked it), each open unanswered question that
    searched one of `workspace_ids`; mark those the extractive answerer would now answer
    (the threshold an answer passes) as answered. Returns how many were marked."""
    questions = (
        Message.objects.filter(
            answered=False,
            gap_status=GapStatus.OPEN,
            search_embedding__isnull=False,
            searched_workspace_ids__overlap=list(workspace_ids),
        )
        .select_related("conversation__user")
        .order_by("-created_at")[:limit]
    )
    answered = [message.pk for message in questions if _answered_now(message)]
    return Message.objects.filter(pk__in=answered).update(gap_status=GapStatus.ANSWERED)


def _answered_now(message: Message) -> bool:
    user = message.conversation.user
    within = sorted(workspace_ids_readable(user=user, within=message.searched_workspace_ids))
    if not within:
        return False
    query = question_focus(message.search_query)
    vector = [float(x) for x in message.search_embedding]
    chunks = chunks_retrieve(
        user=user, query=query, within=within, k=settings.ASSISTANT_PASSAGES, query_vector=vector
    )
    if not chunks:
        return False
    plan = answer_plan(
        question=query,
        passages=[Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)],
        language=workspace_language(workspace_id=within[0]),
        workspace_ids=within,
        question_vector=vector,
    )
    return plan.answered


def gaps_recheck_on_index(sender: Any, *, workspace_ids: Sequence[int], **kwargs: Any) -> None:
    """workspaces.signals.documents_indexed: the documents are already searchable, so a
    failure here is logged and never fails their ingestion."""
    try:
        gaps_recheck(workspace_ids=workspace_ids)
    except Exception:
        logger.exception("Knowledge gaps were not checked against the newly indexed documents")
