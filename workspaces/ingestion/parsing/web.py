"""HTML (the article without the page's chrome) and Markdown."""

import re
from typing import Any

from bs4 import BeautifulSoup, Tag
from markdown_it import MarkdownIt
from markdown_it.token import Token

from workspaces.ingestion.parsing.structure import (
    ParsedDocument,
    Section,
    inline,
    lines_join,
    list_section,
    normalise,
    table_section,
)
from workspaces.models import DocumentKind

HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
HTML_BLOCKS = [*HEADINGS, "p", "pre", "blockquote", "dt", "dd", "figcaption", "table", "ul", "ol"]
# Blocks whose inner blocks are read with them.
HTML_CONTAINERS = ["p", "pre", "blockquote", "table", "ul", "ol", "dt", "dd", "figcaption"]
HTML_DROPPED = [
    "script", "style", "noscript", "template", "iframe", "svg", "object", "embed", "head",
    "nav", "form", "button", "dialog", "aside", "select", "input", "textarea",
]  # fmt: skip
# Page chrome that sits outside the article: cookie banners, breadcrumbs, skip links.
CHROME = re.compile(r"cookie|consent|banner|breadcrumb|skip-link|site-header|site-footer", re.I)


def html_parse(text: str) -> ParsedDocument:
    soup = BeautifulSoup(text, "lxml")
    page_title = inline(soup.title.get_text(" ")) if soup.title else ""
    for element in soup(HTML_DROPPED):
        element.decompose()
    for element in soup.find_all(_is_chrome):
        element.decompose()
    root = soup.find("main") or soup.find("article") or soup.find(role="main")
    if root is None:
        root = soup.body or soup
        for element in root.find_all(["header", "footer"], recursive=False):
            element.decompose()
    first_h1 = root.find("h1") if isinstance(root, Tag) else None
    h1 = inline(first_h1.get_text(" ")) if first_h1 is not None else ""
    # The page's own first heading; else its <title> without a " | Site name" ending.
    title = h1 or re.split(r"\s+[|·–—]\s+", page_title)[0]
    headings: list[str] = []
    sections: list[Section] = []
    for element in root.find_all(HTML_BLOCKS):
        if element.find_parent(HTML_CONTAINERS) is not None:
            continue  # read with the block that holds it
        path = tuple(h for h in headings if h)
        if element.name in HEADINGS:
            level = int(element.name[1])
            headings = [*headings[: level - 1], inline(element.get_text(" "))]
            headings += [""] * (level - len(headings))
        elif element.name == "table":
            section = _html_table(element, path)
            if section is not None:
                sections.append(section)
        elif element.name in ("ul", "ol"):
            items = [_own_text(item) for item in element.find_all("li")]
            section = list_section(items, ordered=element.name == "ol", heading_path=path)
            if section is not None:
                sections.append(section)
        else:
            content = normalise(element.get_text(" "))
            if element.name != "pre":
                content = inline(content)
            if content:
                sections.append(Section(text=content, heading_path=path))
    if not sections:
        body = normalise(root.get_text("\n", strip=True))
        sections = [Section(text=body)] if body else []
    if title and not any(section.heading_path for section in sections):
        sections = [Section(text=s.text, heading_path=(title,), kind=s.kind) for s in sections]
    return ParsedDocument(kind=DocumentKind.HTML, sections=sections, title=title)


def _is_chrome(element: Tag) -> bool:
    if element.name in ("html", "body", "main", "article"):
        return False
    names = " ".join([*element.get_attribute_list("class"), str(element.get("id") or "")])
    return bool(names and CHROME.search(names)) or element.get("role") in ("navigation", "banner")


def _own_text(item: Tag) -> str:
    """A list item's text without the lists nested in it (they are items of their own)."""
    parts = [
        str(text)
        for text in item.find_all(string=True)
        if not any(parent.name in ("ul", "ol") for parent in text.parents if parent is not item)
        or text.find_parent("li") is item
    ]
    return inline(" ".join(parts))


def _html_table(table: Tag, path: tuple[str, ...]) -> Section | None:
    caption_tag = table.find("caption")
    caption = inline(caption_tag.get_text(" ")) if caption_tag is not None else ""
    rows = [
        [cell.get_text(" ") for cell in row.find_all(["th", "td"])] for row in table.find_all("tr")
    ]
    return table_section(rows, caption=caption, heading_path=path)


def markdown_parse(text: str) -> ParsedDocument:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings: list[str] = []
    sections: list[Section] = []
    title = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        path = tuple(h for h in headings if h)
        if token.type == "heading_open":
            level = int(token.tag[1])
            heading = _md_inline(tokens[index + 1], text)
            title = title or (heading if level == 1 else "")
            headings = [*headings[: level - 1], heading]
            headings += [""] * (level - len(headings))
            index += 3
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            end = _closing(tokens, index)
            items = [_md_inline(item, text) for item in tokens[index:end] if item.type == "inline"]
            section = list_section(
                items, ordered=token.type == "ordered_list_open", heading_path=path
            )
            sections.extend([section] if section is not None else [])
            index = end + 1
            continue
        if token.type == "table_open":
            end = _closing(tokens, index)
            rows: list[list[str]] = []
            for cell in tokens[index:end]:
                if cell.type == "tr_open":
                    rows.append([])
                elif cell.type == "inline" and rows:
                    rows[-1].append(_md_inline(cell, text))
            section = table_section(rows, heading_path=path)
            sections.extend([section] if section is not None else [])
            index = end + 1
            continue
        if token.type == "inline":
            for line in _md_inline(token, text, hard_breaks=True).split("\n"):
                if line.strip():
                    sections.append(Section(text=line.strip(), heading_path=path))
        elif token.type in ("fence", "code_block"):
            content = normalise(token.content)
            if content:
                sections.append(Section(text=content, heading_path=path))
        index += 1
    return ParsedDocument(kind=DocumentKind.MARKDOWN, sections=sections, title=title)


def _closing(tokens: list[Token], start: int) -> int:
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _md_inline(token: Token, context: str, hard_breaks: bool = False) -> str:
    """An inline token's plain text: markup dropped, soft line breaks re-joined (a hyphen at
    a line end undone when it splits a word); hard breaks kept as "\n" when asked."""
    lines: list[list[str]] = [[""]]
    children: list[Any] = token.children or []
    for child in children:
        if child.type in ("text", "code_inline", "html_inline") or child.type == "image":
            lines[-1][-1] += child.content
        elif child.type == "softbreak":
            lines[-1].append("")
        elif child.type == "hardbreak":
            if hard_breaks:
                lines.append([""])
            else:
                lines[-1].append("")
    return "\n".join(inline(lines_join(parts, context)) for parts in lines)
