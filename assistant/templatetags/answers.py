from django import template
from django.utils.safestring import SafeString

from assistant.models import Citation, Message
from assistant.rendering import answer_html, passage_html, plain

register = template.Library()


@register.simple_tag
def answer_body(message: Message) -> SafeString:
    """The stored answer as sanitised HTML, its markers linked to the passage viewer."""
    return answer_html(message.text, {c.marker: c.pk for c in message.citations.all()})


@register.simple_tag
def passage_marked(citation: Citation, text: str | None = None) -> SafeString:
    """The cited passage with the sentences and rows the answer used marked."""
    return passage_html(
        text if text is not None else citation.passage_text,
        citation.quote.splitlines(),
        answer=citation.message.text,
    )


@register.filter
def plain_text(text: str) -> str:
    return plain(text)


@register.filter
def short_quote(citation: Citation, length: int = 160) -> str:
    quote = " ".join(plain(citation.quote or citation.passage_text).split())
    return quote if len(quote) <= length else quote[: length - 1].rsplit(" ", 1)[0] + "…"
