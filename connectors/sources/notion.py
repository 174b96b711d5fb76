"""Notion through notion-client, with an internal integration's token: every page shared
with the integration (the search API), database rows included, each a document.

Every sync lists the pages with one search (sorted by last edit), so that pages deleted,
moved to the trash or no longer shared are pruned. The first sync fetches them all; a later
one fetches only the pages whose `last_edited_time` is at or after the last sync's start
(less CLOCK_MARGIN, for the difference between Notion's clock and ours; Notion rounds the
time to the minute) and those new to the connector. A page's blocks (headings, paragraphs,
lists, to-dos, quotes, code, tables, toggles and columns, nested ones too) are turned into
HTML here; a database row's properties become a table above its blocks. Pages inside a page
are documents of their own; images and embedded files are left out.

The API's address comes from NOTION_API_URL (the local Notion-format server's in tests)."""

import html
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from notion_client import APIResponseError, Client
from notion_client.errors import RequestTimeoutError
from notion_client.helpers import iterate_paginated_api

from connectors.sources import (
    Fetched,
    Gone,
    ItemRef,
    ItemUnreadable,
    Listing,
    RateLimited,
    SourceUnavailable,
    Unchanged,
)
from connectors.sources.guarded_http import retry_after_seconds

CLOCK_MARGIN = timedelta(minutes=5)
PAGE_SIZE = 100
# Blocks nested deeper than this are left out (Notion itself shows a handful of levels).
MAX_DEPTH = 12
LIST_TAGS = {"bulleted_list_item": "ul", "numbered_list_item": "ol", "to_do": "ul"}
HEADINGS = {"heading_1": "h2", "heading_2": "h3", "heading_3": "h4"}
TEXT_TAGS = {"paragraph": "p", "quote": "blockquote", "callout": "p", "toggle": "p"}
# Blocks that are documents of their own (child pages, found by search) or not text.
SKIPPED = {"child_page", "child_database", "image", "video", "audio", "file", "pdf",
           "embed", "link_preview", "breadcrumb", "table_of_contents", "unsupported"}  # fmt: skip


class NotionSource:
    follows_links = False
    max_items: int | None = None

    def __init__(self, *, token: str, cursor: str) -> None:
        self.cursor = cursor
        self.notion = Client(
            auth=token, base_url=settings.NOTION_API_URL.rstrip("/"),
            timeout_ms=int(settings.CONNECTOR_HTTP_TIMEOUT_SECONDS * 1000),
            # A 429 is the sync's to wait out in the queue, never a sleep in the worker.
            retry=False, logger=logging.getLogger(__name__),
        )  # fmt: skip

    def _call(self, call: Any, **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except APIResponseError as error:
            if error.status == 429:
                raise RateLimited(retry_after_seconds(error.headers.get("retry-after"))) from None
            if error.status == 401:
                raise SourceUnavailable(
                    "Notion refused the integration token: check it is the integration's "
                    "current secret (Settings → Connections → Develop or manage integrations)."
                ) from None
            raise
        except (httpx.HTTPError, RequestTimeoutError) as error:
            raise SourceUnavailable(
                f"Notion could not be reached ({type(error).__name__})."
            ) from None

    def _pages(self, call: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from iterate_paginated_api(lambda **page: self._call(call, **page), **kwargs)

    def listing(self) -> Listing:
        started = datetime.now(UTC)
        try:
            found = self._pages(
                self.notion.search, filter={"property": "object", "value": "page"},
                sort={"timestamp": "last_edited_time", "direction": "descending"},
                page_size=PAGE_SIZE,
            )  # fmt: skip
            pages = [
                page for page in found if not page.get("in_trash") and not page.get("archived")
            ]
        except APIResponseError as error:
            raise SourceUnavailable(f"Notion answered {error.status}: {error}") from None
        present = [ItemRef(source_id=page["id"], url=page.get("url", "")) for page in pages]
        cursor = (started - CLOCK_MARGIN).isoformat()
        if not self.cursor:
            return Listing(items=present, complete=True, cursor=cursor)
        since = datetime.fromisoformat(self.cursor)
        changed = [
            ref
            for ref, page in zip(present, pages, strict=True)
            if _time(page.get("last_edited_time", "")) >= since
        ]
        return Listing(items=changed, complete=True, delta=True, present=present, cursor=cursor)

    def fetch(self, item: ItemRef, *, etag: str, last_modified: str) -> Fetched | Unchanged | Gone:
        try:
            page = self._call(self.notion.pages.retrieve, page_id=item.source_id)
            if page.get("in_trash") or page.get("archived"):
                return Gone("It was moved to the trash in Notion.")
            title = page_title(page) or "Untitled"
            body = self._blocks(item.source_id, depth=0)
        except APIResponseError as error:
            if error.status in (403, 404):
                return Gone("It is no longer in Notion (or no longer shared with the integration).")
            raise ItemUnreadable(f"Notion answered {error.status}: {error}") from None
        heading = html.escape(title)
        document = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{heading}</title></head>'
            f"<body><main><h1>{heading}</h1>{_properties_table(page)}{body}</main></body></html>"
        )
        return Fetched(
            data=document.encode(), filename=f"{_safe_name(title)}.html", title=title,
            url=page.get("url", ""), etag=page.get("last_edited_time", ""),
        )  # fmt: skip

    def _blocks(self, block_id: str, *, depth: int) -> str:
        if depth > MAX_DEPTH:
            return ""
        parts: list[str] = []
        open_list = ""
        for block in self._pages(
            self.notion.blocks.children.list, block_id=block_id, page_size=PAGE_SIZE
        ):
            kind = block.get("type", "")
            list_tag = LIST_TAGS.get(kind, "")
            if open_list and list_tag != open_list:
                parts.append(f"</{open_list}>")
                open_list = ""
            if list_tag and not open_list:
                parts.append(f"<{list_tag}>")
                open_list = list_tag
            parts.append(self._block(block, depth))
        if open_list:
            parts.append(f"</{open_list}>")
        return "".join(parts)

    def _block(self, block: dict[str, Any], depth: int) -> str:
        kind = block.get("type", "")
        if kind in SKIPPED:
            return ""
        value = block.get(kind) or {}
        text = rich_text_html(value.get("rich_text", []))
        children = ""
        if block.get("has_children") and kind != "table":
            children = self._blocks(block["id"], depth=depth + 1)
        if kind in LIST_TAGS:
            mark = ("☑ " if value.get("checked") else "☐ ") if kind == "to_do" else ""
            return f"<li>{mark}{text}{children}</li>"
        if kind in HEADINGS:
            tag = HEADINGS[kind]
            return f"<{tag}>{text}</{tag}>{children}"
        if kind in TEXT_TAGS:
            tag = TEXT_TAGS[kind]
            return (f"<{tag}>{text}</{tag}>" if text else "") + children
        if kind == "code":
            return f"<pre>{text}</pre>"
        if kind == "equation":
            return f"<p>{html.escape(value.get('expression', ''))}</p>"
        if kind == "divider":
            return "<hr>"
        if kind == "table":
            return self._table(block, value)
        # column_list, column, synced_block, template and kinds to come: their children.
        return children

    def _table(self, block: dict[str, Any], value: dict[str, Any]) -> str:
        rows = []
        for index, row in enumerate(
            self._pages(self.notion.blocks.children.list, block_id=block["id"], page_size=PAGE_SIZE)
        ):
            tag = "th" if index == 0 and value.get("has_column_header") else "td"
            cells = (row.get("table_row") or {}).get("cells", [])
            rows.append(
                "<tr>" + "".join(f"<{tag}>{rich_text_html(c)}</{tag}>" for c in cells) + "</tr>"
            )
        return f"<table>{''.join(rows)}</table>" if rows else ""


def rich_text_html(parts: list[dict[str, Any]]) -> str:
    out = []
    for part in parts:
        text = html.escape(part.get("plain_text", ""))
        annotations = part.get("annotations") or {}
        if annotations.get("code"):
            text = f"<code>{text}</code>"
        if annotations.get("bold"):
            text = f"<strong>{text}</strong>"
        if annotations.get("italic"):
            text = f"<em>{text}</em>"
        out.append(text)
    return "".join(out)


def page_title(page: dict[str, Any]) -> str:
    for prop in (page.get("properties") or {}).values():
        if prop.get("type") == "title":
            return "".join(part.get("plain_text", "") for part in prop.get("title", [])).strip()
    return ""


def _properties_table(page: dict[str, Any]) -> str:
    """A database row's properties (besides its title), as a two-column table."""
    parent = (page.get("parent") or {}).get("type", "")
    if parent not in ("database_id", "data_source_id"):
        return ""
    rows = [
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, prop in (page.get("properties") or {}).items()
        if prop.get("type") != "title" and (value := _property_text(prop))
    ]
    return f"<table>{''.join(rows)}</table>" if rows else ""


def _property_text(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "")
    value = prop.get(kind)
    if kind == "rich_text":
        return "".join(part.get("plain_text", "") for part in value or [])
    if kind in ("select", "status"):
        return str((value or {}).get("name", ""))
    if kind == "multi_select":
        return ", ".join(option.get("name", "") for option in value or [])
    if kind == "date":
        if not value:
            return ""
        return value.get("start", "") + (f" – {value['end']}" if value.get("end") else "")
    if kind == "checkbox":
        return "Yes" if value else "No"
    if kind == "people":
        return ", ".join(person.get("name", "") for person in value or [])
    if kind == "formula":
        inner = value or {}
        return str(inner.get(inner.get("type", ""), "") or "")
    if kind in ("number", "url", "email", "phone_number"):
        return "" if value is None else str(value)
    return ""


def _time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # unknown: fetched, to be safe


def _safe_name(title: str) -> str:
    return re.sub(r"[\\/:*?\"<>|]+", " ", title).strip()[:150] or "page"
