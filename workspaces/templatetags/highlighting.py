import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlight(text: str, lexemes: list[str]) -> SafeString:
    """Escape `text`, then mark the words that begin with one of the query's lexemes
    (stems from the text-search configuration, so stop words are already gone)."""
    escaped = escape(text)
    stems = {escape(lexeme).lower() for lexeme in lexemes if len(lexeme) >= 2}
    if not stems:
        return mark_safe(escaped)  # noqa: S308  (escaped above)
    pattern = re.compile(
        r"\b("
        + "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
        + r")\w*",
        re.IGNORECASE,
    )
    return mark_safe(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))  # noqa: S308
