import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlight(text: str, query: str) -> SafeString:
    """Escape `text`, then mark the words of `query` in it (a word's first letters, so
    "vacations" marks "vacation"). Everything the user typed is escaped first."""
    escaped = escape(text)
    stems = {escape(word[: max(4, len(word) - 2)]).lower() for word in re.findall(r"\w{3,}", query)}
    if not stems:
        return mark_safe(escaped)  # noqa: S308  (escaped above)
    pattern = re.compile(
        r"\b("
        + "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
        + r")\w*",
        re.IGNORECASE,
    )
    return mark_safe(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))  # noqa: S308
