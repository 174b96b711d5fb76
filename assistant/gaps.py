"""Writes on knowledge gaps: a reviewer marks a group of unanswered questions resolved
(written up) or dismissed (not worth an entry); either takes it off the gap page."""

from collections.abc import Sequence

from accounts.models import User
from assistant.models import GapStatus
from assistant.selectors import reviewable_unanswered


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
