"""Asking in Slack end to end: Slack's signed deliveries (from the local Slack-format server)
reach slack-bolt at the public events URL, which acknowledges and queues; a real Celery
worker answers through the assistant and edits "Thinking…" in place through slack-sdk."""

import itertools
import json
import re
import time
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from assistant.models import Conversation, Feedback, Message, MessageRole
from billing.models import Plan
from integrations.slack_messages import FEEDBACK_DOWN, THINKING
from localdev.slack_server import Posted, SlackLocal
from tenants.schemas import schema_public_activate
from tests.factories import plan_switched
from tests.integrations.conftest import SlackOrg, manager_client

CHANNEL = "C0GENERAL1"
LEAVE = "How many days of annual leave do I get?"
LINK = re.compile(r"<(http://slackco\.[^|>]+/ask/sources/(\d+)/)\|\[(\d+)\]>")


def answered(slack: SlackLocal, channel: str, thread_ts: str | None = None) -> Posted:
    """The app's finished answer (the one with feedback buttons) in the channel/thread."""

    def done() -> Posted | None:
        for message in slack.messages_in(channel, thread_ts):
            if any(block["type"] == "actions" for block in message.blocks):
                return message
        return None

    found: Posted = slack.wait_for(done)
    return found


def answers_of(org: SlackOrg, email: str) -> list[Message]:
    with tenant_context(org.organization):
        answers = list(
            Message.objects.filter(
                conversation__user__email=email, role=MessageRole.ASSISTANT
            ).prefetch_related("citations")
        )
    schema_public_activate()
    return answers


@pytest.fixture
def reader(slack_org: SlackOrg, installed: SlackLocal) -> str:
    """The reader's Slack user id; they start with no conversations (nor feedback)."""
    with tenant_context(slack_org.organization):
        Conversation.objects.filter(user=slack_org.reader).delete()
    schema_public_activate()
    return installed.user_add(slack_org.reader.email)


def test_mention_is_acknowledged_at_once_and_answered_in_its_thread_with_sources(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    said = installed.say(
        team_id=installed.team_id, channel=CHANNEL, user=reader,
        text=f"<@{installed.bot_user_id}> {LEAVE}",
    )  # fmt: skip

    answer = answered(installed, CHANNEL, said.ts)
    assert [delivery.status for _, delivery in said.sent] == [200, 200]
    assert all(delivery.seconds < 3 for _, delivery in said.sent)
    assert len(installed.messages_in(CHANNEL)) == 1  # mention and message: one answer
    assert answer.edits[0][1] != THINKING  # first words, then the finished answer
    growing = [at for at, _ in answer.edits[:-1]]  # the finished answer is sent at once
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(growing))
    section = answer.blocks[0]["text"]["text"]
    links = LINK.findall(section)
    assert links and "days" in section
    sources = answer.blocks[1]["elements"][0]["text"]
    assert "Time Off" in sources or "time off" in sources.lower()
    (stored,) = answers_of(slack_org, slack_org.reader.email)
    assert {int(citation_id) for _, citation_id, _ in links} == {
        c.pk for c in stored.citations.all()
    }
    assert stored.answered


def test_direct_message_is_answered_in_the_conversation(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    said = installed.say(
        team_id=installed.team_id, channel="D0READER01", user=reader, text=LEAVE,
        channel_type="im",
    )  # fmt: skip

    answer = answered(installed, "D0READER01", said.ts)
    assert [delivery.status for _, delivery in said.sent] == [200]
    assert LINK.search(answer.blocks[0]["text"]["text"])


def test_slash_command_starts_a_thread_whose_reply_is_a_follow_up(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    ack = installed.slash_command(
        team_id=installed.team_id, channel=CHANNEL, user=reader, text=LEAVE
    )
    first = answered(installed, CHANNEL)
    follow = installed.say(
        team_id=installed.team_id, channel=CHANNEL, user=reader,
        text="And how many of them can I carry over?", thread_ts=first.ts,
    )  # fmt: skip
    second = answered(installed, CHANNEL, first.ts)

    assert ack.status == 200 and ack.body == b""
    assert first.thread_ts is None and LEAVE in first.blocks[0]["text"]["text"]
    assert [delivery.status for _, delivery in follow.sent] == [200]
    assert second.ts != first.ts
    with tenant_context(slack_org.organization):
        (conversation,) = Conversation.objects.filter(user=slack_org.reader)
        questions = list(
            conversation.messages.filter(role=MessageRole.USER).values_list("text", flat=True)
        )
    schema_public_activate()
    assert questions == [LEAVE, "And how many of them can I carry over?"]


def test_someone_who_is_not_a_member_is_told_privately_how_to_join(
    slack_org: SlackOrg, installed: SlackLocal
):
    stranger = installed.user_add("stranger@elsewhere.example")

    installed.say(
        team_id=installed.team_id, channel=CHANNEL, user=stranger,
        text=f"<@{installed.bot_user_id}> {LEAVE}",
    )  # fmt: skip

    (notice,) = installed.wait_for(lambda: installed.ephemeral)
    assert notice["user"] == stranger
    assert "not one" in notice["text"] and "invite you at http://slackco." in notice["text"]
    assert installed.messages_in(CHANNEL) == []
    assert answers_of(slack_org, "stranger@elsewhere.example") == []


@pytest.fixture
def no_questions_left(slack_org: SlackOrg, committed: None) -> Any:
    with plan_switched(slack_org.organization, name="Spent", questions_per_period=0) as plan:
        yield plan


def test_cap_reached_is_an_ephemeral_sentence_from_the_plan(
    slack_org: SlackOrg, installed: SlackLocal, reader: str, no_questions_left: Plan
):
    installed.slash_command(team_id=installed.team_id, channel=CHANNEL, user=reader, text=LEAVE)

    (refusal,) = installed.wait_for(lambda: installed.responses)
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"] == (
        "Your organization has reached its Spent plan's limit of 0 questions this billing "
        "period (0 used). "
        "Ask your admin to upgrade the plan."
    )
    assert installed.messages_in(CHANNEL) == []


def test_the_per_person_rate_limit_is_an_ephemeral_sentence(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    with plan_switched(slack_org.organization, name="Slow", asks_per_minute=1):
        first = installed.say(
            team_id=installed.team_id, channel="D0READER06", user=reader, text=LEAVE,
            channel_type="im",
        )  # fmt: skip
        answered(installed, "D0READER06", first.ts)
        installed.say(
            team_id=installed.team_id, channel="D0READER06", user=reader,
            text="Can I carry leave over?", channel_type="im",
        )  # fmt: skip
        (limited,) = installed.wait_for(lambda: installed.ephemeral)

    assert limited["user"] == reader
    assert limited["text"].startswith("You have sent 1 questions this minute")
    assert len(installed.messages_in("D0READER06")) == 1


def test_slacks_retries_of_a_delivery_never_produce_a_second_answer(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    said = installed.say(
        team_id=installed.team_id, channel="D0READER02", user=reader, text=LEAVE,
        channel_type="im",
    )  # fmt: skip
    body = said.sent[0][0]

    retries = [installed.event_send(body, retry_num=n) for n in (1, 2, 3)]
    answered(installed, "D0READER02", said.ts)
    time.sleep(1.0)  # a second answer would have been queued by now

    assert [retry.status for retry in retries] == [200, 200, 200]
    assert len(installed.messages_in("D0READER02")) == 1
    assert len(answers_of(slack_org, slack_org.reader.email)) == 1


def test_unsigned_wrongly_signed_and_replayed_requests_are_refused(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    body = installed.event_body(
        installed.team_id,
        {"type": "message", "channel_type": "im", "channel": "D0READER03", "user": reader,
         "text": LEAVE, "ts": installed.new_ts()},
    )  # fmt: skip

    forged = installed.deliver(body, content_type="application/json", secret="not-the-secret")
    replayed = installed.deliver(
        body, content_type="application/json", timestamp=int(time.time()) - 600
    )
    unsigned = installed.deliver(
        body, content_type="application/json", headers={"X-Slack-Signature": ""}
    )
    time.sleep(1.0)

    assert (forged.status, replayed.status, unsigned.status) == (401, 401, 401)
    assert installed.messages_in("D0READER03") == []
    assert answers_of(slack_org, slack_org.reader.email) == []


def test_rate_limited_calls_are_retried_after_retry_after(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    installed.rate_limit("chat.postMessage", retry_after=1)

    said = installed.say(
        team_id=installed.team_id, channel="D0READER04", user=reader, text=LEAVE,
        channel_type="im",
    )  # fmt: skip

    answered(installed, "D0READER04", said.ts)
    posts = [at for at, method in installed.calls if method == "chat.postMessage"]
    assert len(posts) == 2
    assert posts[1] - posts[0] >= 1.0


def test_thumbs_down_is_stored_as_feedback_for_the_asker_only(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    other = installed.user_add(slack_org.newcomer.email)
    said = installed.say(
        team_id=installed.team_id, channel=CHANNEL, user=reader,
        text=f"<@{installed.bot_user_id}> {LEAVE}",
    )  # fmt: skip
    answer = answered(installed, CHANNEL, said.ts)
    message_id = answer.blocks[-1]["elements"][1]["value"]

    by_asker = installed.click(
        team_id=installed.team_id, user=reader, message=answer, action_id=FEEDBACK_DOWN,
        value=message_id,
    )  # fmt: skip
    by_other = installed.click(
        team_id=installed.team_id, user=other, message=answer, action_id=FEEDBACK_DOWN,
        value=message_id,
    )  # fmt: skip
    notices = installed.wait_for(lambda: len(installed.ephemeral) >= 2 and installed.ephemeral)

    assert (by_asker.status, by_other.status) == (200, 200)
    with tenant_context(slack_org.organization):
        ratings = list(Feedback.objects.values_list("user__email", "rating"))
    schema_public_activate()
    assert ratings == [(slack_org.reader.email, -1)]
    told = {notice["user"]: notice["text"] for notice in notices}
    assert told[other] == "Only the person who asked can rate this answer."
    assert told[reader].startswith("Thanks: your rating is recorded")
    review = manager_client(slack_org).get("/ask/feedback/")
    schema_public_activate()
    assert LEAVE in review.content.decode()


def test_a_question_the_knowledge_base_cannot_answer_is_a_knowledge_gap(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    unanswerable = "Which moon of Neptune has retrograde orbit geysers?"
    said = installed.say(
        team_id=installed.team_id, channel="D0READER05", user=reader, text=unanswerable,
        channel_type="im",
    )  # fmt: skip

    answer = answered(installed, "D0READER05", said.ts)
    (stored,) = answers_of(slack_org, slack_org.reader.email)
    gaps = manager_client(slack_org).get("/ask/gaps/")
    schema_public_activate()

    assert not stored.answered
    assert not LINK.search(answer.blocks[0]["text"]["text"])
    assert unanswerable in gaps.content.decode()


def test_slacks_url_verification_is_answered_with_its_challenge(installed: SlackLocal):
    body = json.dumps(
        {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    ).encode()

    delivery = installed.deliver(body, content_type="application/json")

    assert delivery.status == 200
    assert json.loads(delivery.body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


def test_the_bots_own_reply_in_a_thread_is_not_taken_for_a_question(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    said = installed.say(
        team_id=installed.team_id, channel=CHANNEL, user=reader,
        text=f"<@{installed.bot_user_id}> {LEAVE}",
    )  # fmt: skip
    answer = answered(installed, CHANNEL, said.ts)
    # Slack echoes the app's own message in the thread (message.channels) to the app.
    echo = installed.event_body(
        installed.team_id,
        {"type": "message", "channel_type": "channel", "channel": CHANNEL,
         "user": installed.bot_user_id, "bot_id": installed.bot_id, "text": answer.text,
         "ts": installed.new_ts(), "thread_ts": said.ts},
    )  # fmt: skip

    delivery = installed.event_send(echo)
    time.sleep(1.0)

    assert delivery.status == 200
    assert len(installed.messages_in(CHANNEL)) == 1
    assert len(answers_of(slack_org, slack_org.reader.email)) == 1


def test_events_of_a_slack_team_no_organization_installed_do_nothing(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    said = installed.say(
        team_id="T0STRANGER", channel="D0STRANGE1", user=reader, text=LEAVE,
        channel_type="im",
    )  # fmt: skip
    time.sleep(1.0)

    # Bolt answers 200 (Slack would otherwise retry), with its sentence about the missing
    # install as the body.
    assert [delivery.status for _, delivery in said.sent] == [200]
    assert installed.messages_in("D0STRANGE1") == []
    assert installed.ephemeral == []
    assert answers_of(slack_org, slack_org.reader.email) == []


def test_ask_in_a_channel_without_the_app_says_so_privately_and_keeps_the_question(
    slack_org: SlackOrg, installed: SlackLocal, reader: str
):
    installed.outside.add("C0ELSEWHER")

    installed.slash_command(
        team_id=installed.team_id, channel="C0ELSEWHER", user=reader, text=LEAVE
    )

    (notice,) = installed.wait_for(lambda: installed.responses)
    assert notice["response_type"] == "ephemeral"
    assert notice["text"].startswith("I am not in this channel")
    with tenant_context(slack_org.organization):
        conversation = Conversation.objects.get(user=slack_org.reader)
    schema_public_activate()
    assert f"http://slackco.localhost/ask/c/{conversation.pk}/" in notice["text"]
    assert installed.messages_in("C0ELSEWHER") == []


def test_a_slack_user_slack_does_not_know_is_treated_as_no_member(
    slack_org: SlackOrg, installed: SlackLocal
):
    installed.say(
        team_id=installed.team_id, channel=CHANNEL, user="U0DELETED1",
        text=f"<@{installed.bot_user_id}> {LEAVE}",
    )  # fmt: skip

    (notice,) = installed.wait_for(lambda: installed.ephemeral)
    assert "your Slack account is not one" in notice["text"]
    assert installed.messages_in(CHANNEL) == []
