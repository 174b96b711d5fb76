"""Writes on conversations: asking, retrying, renaming, deleting, feedback.

Asking stores the question and an empty assistant message at once; the answer itself is
produced by the stream that the page opens for that message (assistant.answering).
"""

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from accounts.models import User
from assistant.models import (
    Citation,
    Conversation,
    Feedback,
    GapStatus,
    Message,
    MessageRole,
    MessageStatus,
)
from assistant.selectors import knowledge_readable_exists
from billing.caps import cap_question_consume
from tenants.schemas import tenant_current
from workspaces.access import workspace_ids_readable
from workspaces.search.retrieval import RetrievalFilters


class QuestionRefused(Exception):
    """The question cannot be asked; the message says why, for the person asking."""


def _title_from(question: str) -> str:
    title = " ".join(question.split())
    return title if len(title) <= 80 else title[:79].rsplit(" ", 1)[0] + "…"


def question_text_checked(text: str) -> str:
    """The question's text, trimmed; refused with a sentence when empty or too long."""
    text = text.strip()
    if not text:
        raise QuestionRefused("Type a question first.")
    if len(text) > settings.ASSISTANT_MAX_QUESTION_CHARS:
        raise QuestionRefused(
            f"Questions are limited to {settings.ASSISTANT_MAX_QUESTION_CHARS:,} characters; "
            f"this one has {len(text):,}. Shorten it and ask again."
        )
    return text


def question_ask(
    *,
    user: User,
    text: str,
    conversation: Conversation | None = None,
    scope_ids: Sequence[int] = (),
    filters: RetrievalFilters | None = None,
    in_channel: bool = False,
) -> tuple[Conversation, Message, Message]:
    """The user's message and the assistant's pending reply; a new conversation when none
    is given (`in_channel`: one answered where others read it, Conversation.in_channel). The
    scope keeps only workspaces the user may read. The question is counted against the
    plan's cap first (raising CapReached at the cap), outside the transaction below, so the
    counter's row lock is held for one statement only; an answer that finds nothing gives it
    back (assistant.answering.answer_finish)."""
    text = question_text_checked(text)
    if conversation is not None and conversation.user_id != user.pk:
        raise Conversation.DoesNotExist
    # With nothing to search (a new organization before its first upload) the answer can
    # only say so: that costs the organization no question.
    counted = knowledge_readable_exists(user=user, within=scope_ids)
    if counted:
        cap_question_consume(organization=tenant_current())
    with transaction.atomic():
        return _question_store(
            user=user, text=text, conversation=conversation, scope_ids=scope_ids,
            counted=counted, filters=filters or RetrievalFilters(), in_channel=in_channel,
        )  # fmt: skip


def _question_store(
    *,
    user: User,
    text: str,
    conversation: Conversation | None,
    scope_ids: Sequence[int],
    counted: bool,
    filters: RetrievalFilters,
    in_channel: bool,
) -> tuple[Conversation, Message, Message]:
    if conversation is None:
        conversation = Conversation.objects.create(
            user=user, title=_title_from(text), in_channel=in_channel
        )
    conversation.scope.set(list(workspace_ids_readable(user=user, within=scope_ids)))
    question = Message.objects.create(conversation=conversation, role=MessageRole.USER, text=text)
    reply = Message.objects.create(
        conversation=conversation,
        role=MessageRole.ASSISTANT,
        status=MessageStatus.PENDING,
        provider=settings.ASSISTANT_PROVIDER,
        counted=counted,
        search_filters=filters.as_dict() if filters else {},
    )
    conversation.save(update_fields=["updated_at"])
    return conversation, question, reply


@transaction.atomic
def message_retry(*, user: User, message: Message) -> Message:
    """A failed, interrupted or stopped answer starts again from its question."""
    if message.conversation.user_id != user.pk or message.role != MessageRole.ASSISTANT:
        raise Message.DoesNotExist
    if message.status not in (
        MessageStatus.FAILED,
        MessageStatus.INTERRUPTED,
        MessageStatus.STOPPED,
    ):
        return message
    message.citations.all().delete()
    message.status = MessageStatus.PENDING
    message.text = ""
    message.failure_reason = ""
    message.provider = settings.ASSISTANT_PROVIDER
    message.save()
    return message


def message_regenerate(*, user: User, message: Message) -> Message:
    """A finished answer is written again from its question, as a new answer: its text,
    sources and feedback go, and it counts as a question (unless there is nothing to
    search), raising CapReached at the cap. Anything but a done answer is left as it is."""
    if message.conversation.user_id != user.pk or message.role != MessageRole.ASSISTANT:
        raise Message.DoesNotExist
    if message.status != MessageStatus.DONE:
        return message
    scope_ids = list(message.conversation.scope.values_list("id", flat=True))
    counted = knowledge_readable_exists(user=user, within=scope_ids)
    if counted:
        cap_question_consume(organization=tenant_current())
    with transaction.atomic():
        # Only a still-done answer is reset: of two clicks, the second changes nothing.
        reset = Message.objects.filter(pk=message.pk, status=MessageStatus.DONE).update(
            status=MessageStatus.PENDING,
            text="",
            failure_reason="",
            answered=True,
            counted=counted,
            gap_status=GapStatus.OPEN,
            provider=settings.ASSISTANT_PROVIDER,
        )
        if reset:
            # By query, not through `message.citations`: that may be a prefetched list.
            Citation.objects.filter(message_id=message.pk).delete()
            Feedback.objects.filter(message_id=message.pk).delete()
    message.refresh_from_db()
    return message


def question_edit(*, user: User, question: Message, text: str) -> tuple[Message, Message]:
    """One's last question, edited and asked again as a new turn below it, as chat products
    keep history: the original question and its answer, sources and feedback stay. A title
    still made from the edited question follows the edit (a title one chose is kept). It
    counts as a question, as asking does. Only the last question of the conversation, once
    its answer has finished, may be edited. Returns the new question and its pending answer."""
    conversation = question.conversation
    if conversation.user_id != user.pk or question.role != MessageRole.USER:
        raise Message.DoesNotExist
    text = question_text_checked(text)
    later = list(
        conversation.messages.filter(created_at__gte=question.created_at).exclude(pk=question.pk)
    )
    reply = later[0] if len(later) == 1 and later[0].role == MessageRole.ASSISTANT else None
    if reply is None:
        raise QuestionRefused("Only your last question can be edited; ask a new one instead.")
    if not reply.is_finished:
        raise QuestionRefused("Wait for the answer to finish, or stop it, before editing.")
    scope_ids = list(conversation.scope.values_list("id", flat=True))
    filters = RetrievalFilters.from_dict(reply.search_filters)
    _, edited, pending = question_ask(
        user=user, text=text, conversation=conversation, scope_ids=scope_ids, filters=filters
    )
    if conversation.title == _title_from(question.text):
        Conversation.objects.filter(pk=conversation.pk).update(title=_title_from(text))
    return edited, pending


def conversation_rename(*, user: User, conversation: Conversation, title: str) -> Conversation:
    if conversation.user_id != user.pk:
        raise Conversation.DoesNotExist
    conversation.title = " ".join(title.split())[:200] or conversation.title
    conversation.save(update_fields=["title"])
    return conversation


def conversation_delete(*, user: User, conversation: Conversation) -> None:
    if conversation.user_id != user.pk:
        raise Conversation.DoesNotExist
    conversation.delete()


def feedback_set(
    *, user: User, message: Message, rating: int, comment: str | None = None
) -> Feedback:
    """One rating per person per answer; rating again replaces the rating. A comment of None
    keeps the one given before: changing thumbs up to down does not lose the reason."""
    if message.conversation.user_id != user.pk or message.role != MessageRole.ASSISTANT:
        raise Message.DoesNotExist
    defaults: dict[str, object] = {"rating": 1 if rating > 0 else -1}
    if comment is not None:
        defaults["comment"] = comment.strip()[:2000]
    feedback, _ = Feedback.objects.update_or_create(message=message, user=user, defaults=defaults)
    return feedback
