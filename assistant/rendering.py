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


# A passage's units: its lines (a table row, a list item, a heading) and, within a line, its
# sentences. The separators are kept (odd indices of the split) to rebuild the text.
SENTENCE_BREAK = re.compile(r"(?<=[.!?])(\s+)")
LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")
MIN_MARKED_WORDS = 3


def _normal(text: str) -> str:
    """Text compared as read: no Markdown emphasis, list marks or citation markers, spaces
    collapsed, case folded."""
    text = LIST_MARK.sub("", MARKER.sub("", plain(text)))
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split())).casefold()


def passage_html(text: str, quotes: Iterable[str], answer: str = "") -> SafeString:
    """The passage escaped, with the sentences and table rows that the answer repeats (its
    cited sentences are mostly the passage's own) or that the citation quotes marked. Only
    our own <mark> and <br> are markup; everything from the document is escaped."""
    used = "\n".join(_normal(line) for said in [answer, *quotes] for line in said.splitlines())
    lines = []
    for line in plain(text).split("\n"):
        pieces = SENTENCE_BREAK.split(line)
        html = []
        for index, piece in enumerate(pieces):
            unit = _normal(piece)
            quoted = index % 2 == 0 and len(unit.split()) >= MIN_MARKED_WORDS and unit in used
            html.append(f"<mark>{escape(piece)}</mark>" if quoted else str(escape(piece)))
        lines.append("".join(html))
    return mark_safe("<br>".join(lines))  # noqa: S308 (every piece escaped above)
