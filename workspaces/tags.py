"""Document tags: what a person types, made into the form stored and matched.

Tags belong to documents, so they are per workspace in effect (a workspace's tags are those
its documents carry) and a filter by tag applies across every workspace searched. A tag is
trimmed, its inner spaces collapsed and case-folded, so "Policy " and "policy" are one tag.
"""

import re
from collections.abc import Iterable

TAG_MAX_CHARS = 40
TAGS_MAX = 20
# Letters and digits of any script, with inner spaces, dots, hyphens, underscores, & and +.
TAG_SHAPE = re.compile(r"^\w(?:[\w .&+-]*\w)?$")


class TagRefused(ValueError):
    """A tag that cannot be stored; the message is shown to the user as is."""


def tags_normalise(values: Iterable[str] | str) -> list[str]:
    """The distinct normalised tags of `values` (one string is split at commas), in the order
    given; raises TagRefused with a sentence for a tag too long, of odd characters, or too
    many of them."""
    raw = values.split(",") if isinstance(values, str) else values
    tags: list[str] = []
    for value in raw:
        tag = " ".join(str(value).split()).casefold()
        if not tag:
            continue
        if len(tag) > TAG_MAX_CHARS:
            raise TagRefused(
                f"The tag “{tag[:TAG_MAX_CHARS]}…” is longer than {TAG_MAX_CHARS} characters."
            )
        if not TAG_SHAPE.match(tag):
            raise TagRefused(
                f"The tag “{tag}” may hold only letters, digits, spaces and . - _ & +."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise TagRefused(f"A document may carry at most {TAGS_MAX} tags.")
    return tags
