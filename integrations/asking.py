"""Asking from Slack, run by a Celery worker in the organization's schema (never in the
request that Slack waits three seconds for): who is asking, the same asking and answering
path as the Ask page and the API (the access policy, the plan's cap and rate limit, the
ledger, the cache, knowledge gaps), then "Thinking…" in the thread, edited in place as the
answer streams, and the finished answer with links to its sources and feedback buttons.
Refusals are ephemeral: only the asker sees them."""

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from accounts.models import User
from assistant.answering import answer_events
from assistant.conversations import QuestionRefused, feedback_set, question_ask
from assistant.selectors import message_get
from billing.caps import CapReached
from billing.rate_limits import RateLimited, RateLimitedAction, rate_limit_consume
from integrations.models import SlackInstallation, SlackThread
from integrations.selectors import (
    installation_get,
    member_by_verified_email,
    slack_scope_readable,
    slack_thread_get,
)
from integrations.slack_client import slack_client, slack_response_url_client
from integrations.slack_messages import (
    THINKING,
    answer_in_progress,
    answer_message,
)
from integrations.token_vault import token_decrypt
from tenants.schemas import in_tenant, run_outside_server, tenant_current

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackQuestion:
    """A question as Slack delivered it (a mention, a direct message, a thread reply or
    /ask); plain values, as it travels to the worker in a Celery message."""

    channel_id: str
    slack_user_id: str
    text: str
    # The thread to answer in; "" for a slash command, whose answer starts its own thread.
    thread_ts: str = ""
    response_url: str = ""  # a slash command's: for ephemeral replies
    # A direct message to the app, which only the asker reads. Anywhere else (a channel, a
    # group conversation, a slash command) others read the answer too.
    direct: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client(installation: SlackInstallation) -> WebClient:
    return slack_client(token_decrypt(installation.bot_token_encrypted))


def slack_member_find(*, client: WebClient, slack_user_id: str) -> tuple[User | None, str]:
    """The member a Slack user is, by the email address Slack has verified for them
    (users.info with users:read.email), and that address."""
    try:
        profile = client.users_info(user=slack_user_id)["user"].get("profile") or {}
    except SlackApiError as error:
        if error.response.get("error") != "user_not_found":
            raise
        return None, ""
    email = str(profile.get("email") or "")
    return member_by_verified_email(email=email), email


def _ephemeral(client: WebClient, question: SlackQuestion, text: str) -> None:
    if question.response_url:
        slack_response_url_client(question.response_url).send(text=text, response_type="ephemeral")
        return
    client.chat_postEphemeral(
        channel=question.channel_id,
        user=question.slack_user_id,
        text=text,
        thread_ts=question.thread_ts or None,
    )


def _not_a_member(installation: SlackInstallation, email: str) -> str:
    organization = tenant_current()
    who = f"your Slack address, {email}," if email else "your Slack account"
    return (
        f"I answer for members of {organization.name}, and {who} is not one. Ask an owner "
        f"or admin of {organization.name} to invite you at {installation.site_root}/ ; once "
        "you have joined with the same address, ask again."
    )


def slack_question_answer(*, question: SlackQuestion) -> None:
    """Answer `question` in Slack for the member who asked it."""
    installation = installation_get()
    if installation is None:
        return  # removed since the question arrived
    client = _client(installation)
    member, email = slack_member_find(client=client, slack_user_id=question.slack_user_id)
    if member is None:
        _ephemeral(client, question, _not_a_member(installation, email))
        return
    scope = slack_scope_readable(installation=installation, user=member)
    if not scope:
        _ephemeral(
            client,
            question,
            "None of the workspaces shared with Slack is one you may read, so there is "
            "nothing I can search for you here. Ask in the browser instead.",
        )
        return
    thread = (
        slack_thread_get(channel_id=question.channel_id, thread_ts=question.thread_ts, user=member)
        if question.thread_ts
        else None
    )
    try:
        # Per person, shared with the same person's questions in the browser and the API.
        rate_limit_consume(
            organization=tenant_current(),
            action=RateLimitedAction.ASK,
            subject=f"user:{member.pk}",
        )
        conversation, _, reply = question_ask(
            user=member,
            text=question.text,
            conversation=thread.conversation if thread else None,
            scope_ids=scope,
            # Read by the whole channel: only what needs no reader's permission.
            in_channel=not question.direct,
        )
    except CapReached as refusal:
        _ephemeral(client, question, refusal.message_for(member))
        return
    except (RateLimited, QuestionRefused) as refusal:
        _ephemeral(client, question, str(refusal))
        return
    try:
        posted = client.chat_postMessage(
            channel=question.channel_id, thread_ts=question.thread_ts or None, text=THINKING
        )
    except SlackApiError as error:
        if error.response.get("error") not in ("not_in_channel", "channel_not_found"):
            raise
        # /ask where the app is not a member. The question is asked already (and counted):
        # it is answered when its conversation is opened in the browser.
        page = installation.site_root + reverse("assistant:conversation", args=[conversation.pk])
        _ephemeral(
            client,
            question,
            "I am not in this channel, so I cannot answer here: add me to it, or ask me in a "
            f"direct message. Your question is on your Ask page: {page}",
        )
        return
    if thread is None:
        SlackThread.objects.get_or_create(
            channel_id=question.channel_id,
            thread_ts=question.thread_ts or str(posted["ts"]),
            user=member,
            defaults={"conversation": conversation},
        )
    try:
        run_outside_server(
            _answer_relay(
                tenant=tenant_current(),
                client=client,
                member=member,
                message_id=reply.pk,
                channel_id=question.channel_id,
                ts=str(posted["ts"]),
                asked="" if question.thread_ts else question.text,
                site_root=installation.site_root,
            )
        )
    except Exception:
        # The answer is stored as failed (assistant.answering); "Thinking…" must not stay.
        client.chat_update(
            channel=question.channel_id,
            ts=str(posted["ts"]),
            text="Something went wrong while answering. Ask again.",
        )
        raise


async def _answer_relay(
    *,
    tenant: Any,
    client: WebClient,
    member: User,
    message_id: int,
    channel_id: str,
    ts: str,
    asked: str,
    site_root: str,
) -> None:
    """Generate the answer (assistant.answering, as the Ask page does) and edit the
    "Thinking…" message as it grows: the first words at once, then at most once every
    SLACK_UPDATE_INTERVAL_SECONDS (chat.update's rate), then the finished answer."""
    updated_at = 0.0
    async for kind, text in answer_events(tenant=tenant, message_id=message_id):
        if kind != "partial" or not text.strip():
            continue
        if time.monotonic() - updated_at >= settings.SLACK_UPDATE_INTERVAL_SECONDS:
            updated_at = time.monotonic()
            await asyncio.to_thread(
                client.chat_update, channel=channel_id, ts=ts, text=answer_in_progress(text)
            )
    finished = await in_tenant(
        tenant, _finished_message, member=member, message_id=message_id, site_root=site_root,
        asked=asked,
    )  # fmt: skip
    await asyncio.to_thread(
        client.chat_update, channel=channel_id, ts=ts, text=finished.text, blocks=finished.blocks
    )


def _finished_message(*, member: User, message_id: int, site_root: str, asked: str) -> Any:
    message = message_get(user=member, message_id=message_id)
    assert message is not None  # the member's own answer, just written
    return answer_message(message=message, site_root=site_root, asked=asked)


@dataclass(frozen=True)
class SlackFeedback:
    channel_id: str
    slack_user_id: str
    message_id: int
    rating: int
    thread_ts: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def slack_feedback_record(*, feedback: SlackFeedback) -> None:
    """👍/👎 on an answer: stored as the web's feedback is, for the member who asked it
    (anyone else in the channel is told so, privately)."""
    installation = installation_get()
    if installation is None:
        return
    client = _client(installation)
    member, _ = slack_member_find(client=client, slack_user_id=feedback.slack_user_id)
    message = (
        message_get(user=member, message_id=feedback.message_id) if member is not None else None
    )
    question = SlackQuestion(
        channel_id=feedback.channel_id,
        slack_user_id=feedback.slack_user_id,
        text="",
        thread_ts=feedback.thread_ts,
    )
    if member is None or message is None:
        _ephemeral(client, question, "Only the person who asked can rate this answer.")
        return
    feedback_set(user=member, message=message, rating=feedback.rating)
    _ephemeral(
        client,
        question,
        "Thanks: your rating is recorded"
        + (" and the answer goes to the reviewers." if feedback.rating < 0 else "."),
    )
