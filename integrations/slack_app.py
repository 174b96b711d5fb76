"""The Slack app's one request URL (/slack/events/ on the public site) as a slack-bolt App:
Bolt verifies each request's signature and timestamp (a replayed, altered or unsigned one is
refused with 401), answers Slack's URL verification and SSL checks, and ignores the bot's
own messages; the listeners below acknowledge at once and queue the work for a Celery worker
in the organization's schema, so the acknowledgement never waits for an answer.

`process_before_response`: the listeners run inside the request, before the response, and
do no more than queue; nothing runs on threads Bolt would start after responding."""

import functools
import re
from typing import Any

from celery import Task
from django.conf import settings
from django_tenants.utils import tenant_context
from slack_bolt import Ack, App, BoltContext
from slack_bolt.adapter.django import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult

from billing.redis_connection import redis_client
from integrations.directory.models import SlackTeam
from integrations.selectors import slack_team_get, slack_thread_known
from integrations.services import slack_team_forget
from integrations.slack_client import slack_client
from integrations.slack_messages import FEEDBACK_DOWN, FEEDBACK_UP
from integrations.tasks import slack_feedback_task, slack_question_task

EMPTY_COMMAND = (
    "Ask a question after /ask, for example: /ask How many days of annual leave do I get?"
)


def _authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
    """The team's route from the public schema. No token here: the request only queues
    work, and the worker reads the token from the organization's schema."""
    team = slack_team_get(team_id=team_id or "")
    if team is None:
        return None
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team.team_id,
        bot_user_id=team.bot_user_id,
        bot_id=team.bot_id or None,
    )


def _first_delivery(*parts: str) -> bool:
    """True the first time a Slack message (or action) arrives; False for Slack's retries
    (X-Slack-Retry-Num) and for the same message delivered as two kinds of event."""
    key = "slack-delivered:" + ":".join(parts)
    return bool(redis_client().set(key, b"1", nx=True, ex=settings.SLACK_DEDUPE_SECONDS))


def _queue(team: SlackTeam, task: "Task[Any, Any]", payload: dict[str, Any]) -> None:
    # Queued with the organization's schema in force, so the worker runs the task there.
    with tenant_context(team.organization):
        task.delay(payload)


def _team(context: BoltContext) -> SlackTeam | None:
    return slack_team_get(team_id=context.team_id or "")


def _question_queue(
    context: BoltContext,
    *,
    channel: str,
    user: str,
    text: str,
    thread_ts: str,
    key: str,
    direct: bool = False,
) -> None:
    team = _team(context)
    if team is None or not text or not _first_delivery(team.team_id, channel, key):
        return
    question = {
        "channel_id": channel, "slack_user_id": user, "text": text, "thread_ts": thread_ts,
        "direct": direct,
    }  # fmt: skip
    _queue(team, slack_question_task, question)


def _without_mention(text: str, bot_user_id: str | None) -> str:
    return re.sub(rf"<@{re.escape(bot_user_id or '')}(\|[^>]*)?>", " ", text).strip()


def on_mention(event: dict[str, Any], context: BoltContext) -> None:
    """@app in a channel: answered in the message's thread (the thread it is in, or a new
    one under it)."""
    _question_queue(
        context,
        channel=event["channel"],
        user=event.get("user", ""),
        text=_without_mention(event.get("text", ""), context.bot_user_id),
        thread_ts=event.get("thread_ts") or event["ts"],
        key=event["ts"],
    )


def on_message(event: dict[str, Any], context: BoltContext) -> None:
    """A direct message to the app, or a reply without a mention in a thread where someone
    asked already (a follow-up). Edits, joins and other subtypes are not questions."""
    if event.get("subtype") or event.get("bot_id"):
        return
    text = event.get("text", "")
    thread_ts = event.get("thread_ts") or ""
    if event.get("channel_type") != "im":
        if not thread_ts or f"<@{context.bot_user_id}" in text:
            return  # a mention arrives as app_mention too
        team = _team(context)
        if team is None or not _thread_known(team, channel=event["channel"], thread_ts=thread_ts):
            return
    _question_queue(
        context,
        channel=event["channel"],
        user=event.get("user", ""),
        text=_without_mention(text, context.bot_user_id),
        thread_ts=thread_ts or event["ts"],
        key=event["ts"],
        direct=event.get("channel_type") == "im",
    )


def _thread_known(team: SlackTeam, *, channel: str, thread_ts: str) -> bool:
    with tenant_context(team.organization):
        return slack_thread_known(channel_id=channel, thread_ts=thread_ts)


def on_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    """/ask <question>: answered in a new message of the channel, whose thread takes
    follow-ups."""
    text = str(command.get("text") or "").strip()
    if not text:
        ack(EMPTY_COMMAND)
        return
    ack()
    team = _team(context)
    if team is None or not _first_delivery(team.team_id, "command", command["trigger_id"]):
        return
    question = {
        "channel_id": command["channel_id"],
        "slack_user_id": command["user_id"],
        "text": text,
        "thread_ts": "",
        "response_url": command["response_url"],
    }
    _queue(team, slack_question_task, question)


def on_feedback(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    ack()
    team = _team(context)
    if team is None or not str(action.get("value", "")).isdigit():
        return
    message = body.get("message") or {}
    feedback = {
        "channel_id": body["channel"]["id"],
        "slack_user_id": body["user"]["id"],
        "message_id": int(action["value"]),
        "rating": 1 if action["action_id"] == FEEDBACK_UP else -1,
        "thread_ts": message.get("thread_ts") or message.get("ts") or "",
    }
    _queue(team, slack_feedback_task, feedback)


def on_uninstalled(body: dict[str, Any], event: dict[str, Any]) -> None:
    """Slack says the app was uninstalled, or its bot token revoked: the install goes."""
    if event["type"] == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
        return  # only user tokens, which the app does not hold
    team = slack_team_get(team_id=body.get("team_id", ""))
    if team is None:
        return
    with tenant_context(team.organization):
        slack_team_forget(
            organization=team.organization,
            team_id=team.team_id,
            reason=f"Slack reported {event['type']}",
        )


@functools.cache
def _app(signing_secret: str, api_base_url: str) -> App:
    app = App(
        signing_secret=signing_secret,
        # None is how Bolt's authorize says "no install for this team" (it then answers with
        # its user-facing error); its annotation leaves that out.
        authorize=_authorize,  # type: ignore[arg-type]
        client=slack_client(),
        process_before_response=True,
    )
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_uninstalled)
    app.command("/ask")(on_command)
    app.action(re.compile(f"^({FEEDBACK_UP}|{FEEDBACK_DOWN})$"))(on_feedback)
    return app


@functools.cache
def _handler(signing_secret: str, api_base_url: str) -> SlackRequestHandler:
    return SlackRequestHandler(_app(signing_secret, api_base_url))


def slack_request_handler() -> SlackRequestHandler:
    """Bolt's Django adapter around the App, made once per configuration."""
    return _handler(settings.SLACK_SIGNING_SECRET, settings.SLACK_API_BASE_URL)
