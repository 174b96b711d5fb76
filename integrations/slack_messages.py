"""An answer as a Slack message: its text in Slack's mrkdwn with each `[n]` a link to the
passage page, the sources as a context block, and 👍/👎 buttons that record feedback as
the web's do. Built from what the asker may read (assistant.selectors.message_get)."""

import re
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from assistant.models import Message, MessageStatus

MARKER = re.compile(r"\[(\d{1,3})\]")
BOLD = re.compile(r"\*\*(.+?)\*\*")
FEEDBACK_UP, FEEDBACK_DOWN = "answer_feedback_up", "answer_feedback_down"
THINKING = "Thinking…"
# Slack refuses a section's text over 3,000 characters and a message's over 40,000.
SECTION_MAX = 3000


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the notification's text, and what clients without blocks show
    blocks: list[dict[str, Any]]


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters in text that is not a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link_text(text: str) -> str:
    return mrkdwn_escape(text).replace("|", "¦")


def answer_in_progress(text: str) -> str:
    """The answer so far, as it streams (links come with the finished answer)."""
    return BOLD.sub(r"*\1*", mrkdwn_escape(text)) or THINKING


def citation_url(*, site_root: str, citation_id: int) -> str:
    return site_root.rstrip("/") + reverse("assistant:citation", args=[citation_id])


def answer_message(*, message: Message, site_root: str, asked: str = "") -> SlackMessage:
    """The finished answer `message` (as message_get gives it to its asker: only the
    citations they may read). `asked`: the question, shown first (a slash command's answer
    starts a thread of its own)."""
    heading = f"*Q: {mrkdwn_escape(asked)}*\n" if asked else ""
    if message.status == MessageStatus.FAILED:
        body = mrkdwn_escape(message.failure_reason or "Something went wrong while answering.")
        return SlackMessage(text=body, blocks=[_section(heading + body)])
    citations = {citation.marker: citation for citation in message.citations.all()}

    def link(match: re.Match[str]) -> str:
        citation = citations.get(int(match.group(1)))
        if citation is None:
            return ""  # a source the asker may no longer read is not pointed at
        url = citation_url(site_root=site_root, citation_id=citation.pk)
        return f"<{url}|[{citation.marker}]>"

    body = MARKER.sub(link, BOLD.sub(r"*\1*", mrkdwn_escape(message.text)))
    blocks = [_section(heading + body)]
    if citations:
        lines = [
            f"{citation.marker}. <{citation_url(site_root=site_root, citation_id=citation.pk)}|"
            f"{_link_text(citation.document_title)}>"
            + (f", p. {citation.page}" if citation.page else "")
            for citation in citations.values()
        ]
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "\n".join(lines)[:3000]}]}
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": f"feedback-{message.pk}",
            "elements": [
                _button("👍 Helpful", FEEDBACK_UP, message.pk),
                _button("👎 Not helpful", FEEDBACK_DOWN, message.pk),
            ],
        }
    )
    plain = MARKER.sub("", message.text).strip()
    return SlackMessage(text=(heading + plain)[:SECTION_MAX], blocks=blocks)


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_MAX:
        text = text[: SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action_id: str, message_id: int) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": str(message_id),
    }
