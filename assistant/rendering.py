"""Answers and passages as HTML: Markdown rendered by markdown-it-py with raw HTML off,
then sanitised by nh3 whatever came out, then `[n]` markers turned into links we build."""

import re
from collections.abc import Iterable, Mapping

import nh3
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

MARKER = re.compile(r"\[(\d{1,3})\]")
ALLOWED_TAGS = {"p", "br", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "a"}
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def answer_html(text: str, citation_ids: Mapping[int, int] | None = None) -> SafeString:
    """`citation_ids` maps marker numbers to Citation ids; markers without one stay text."""
    html = nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    if citation_ids:

        def link(match: re.Match[str]) -> str:
            citation_id = citation_ids.get(int(match.group(1)))
            if citation_id is None:
                return match.group(0)
            url = reverse("assistant:citation", args=[citation_id])
            return str(
                format_html(
                    '<a class="cite" href="{}" hx-get="{}" hx-target="#passage-panel"'
                    ' hx-swap="innerHTML" data-marker="{}">[{}]</a>',
                    url,
                    url,
                    match.group(1),
                    match.group(1),
                )
            )

        html = MARKER.sub(link, html)
    return mark_safe(html)  # noqa: S308 (sanitised above; the links are built by format_html)


EMPHASIS = re.compile(r"\*\*|__|`")


def plain(text: str) -> str:
    """A passage as read, without the Markdown emphasis marks its chunk text keeps."""
    return EMPHASIS.sub("", text)


def passage_html(text: str, quotes: Iterable[str]) -> SafeString:
    """The passage escaped, with the quoted sentences marked."""
    html = str(escape(plain(text)))
    for quote in sorted({plain(q) for q in quotes if q.strip()}, key=len, reverse=True):
        escaped = str(escape(quote))
        html = html.replace(escaped, f"<mark>{escaped}</mark>", 1)
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 (escaped above)
