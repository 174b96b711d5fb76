"""A local server that speaks the parts of Notion's API (version 2025-09-03) the Notion
source uses, so notion-client reads it in the tests and offline development as it reads
api.notion.com.

- A bearer token (an integration's secret) and a Notion-Version header on every request,
  else 401 or 400 in Notion's error shape.
- POST /v1/search: the pages shared with the integration (`filter` by object, `sort` by
  last_edited_time, `page_size`, `start_cursor`; `next_cursor` and `has_more`).
- GET /v1/pages/{id}: a page's properties, parent, url, last_edited_time (rounded down to
  the minute, as Notion does), in_trash; 404 object_not_found for a page not shared.
- GET /v1/blocks/{id}/children: a page's or block's children, paginated the same way.
- `rate_limit(path_suffix, retry_after)` answers the next matching request with 429
  rate_limited and Retry-After. Every request is recorded in `hits` (method, path).
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, bytes, dict[str, str]]


@dataclass
class NotionPage:
    id: str
    title: str
    blocks: list[dict[str, Any]]
    properties: dict[str, Any] = field(default_factory=dict)
    database_id: str = ""
    edited: datetime = field(default_factory=lambda: datetime.now(UTC))
    in_trash: bool = False
    shared: bool = True


@dataclass
class NotionLocal:
    pages: dict[str, NotionPage] = field(default_factory=dict)
    # Blocks with children, by id (a page's top blocks are on the page).
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    rate_limited: dict[str, int] = field(default_factory=dict)
    hits: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    # --- the workspace's content -------------------------------------------------------------
    def integration(self, token: str) -> None:
        self.tokens.add(token)

    def page(
        self, title: str, blocks: list[dict[str, Any]], *, database_id: str = "",
        properties: dict[str, Any] | None = None,
    ) -> NotionPage:  # fmt: skip
        page = NotionPage(
            id=str(uuid.uuid4()), title=title, blocks=self._register(blocks),
            properties=properties or {}, database_id=database_id,
        )  # fmt: skip
        self.pages[page.id] = page
        return page

    def edit(self, page_id: str, blocks: list[dict[str, Any]]) -> None:
        page = self.pages[page_id]
        page.blocks, page.edited = self._register(blocks), datetime.now(UTC)

    def trash(self, page_id: str) -> None:
        self.pages[page_id].in_trash = True
        self.pages[page_id].edited = datetime.now(UTC)

    def _register(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for block in blocks:
            block.setdefault("id", str(uuid.uuid4()))
            block.setdefault("object", "block")
            nested = block.pop("children", None)
            block["has_children"] = bool(nested)
            if nested:
                self.children[block["id"]] = self._register(nested)
        return blocks

    def url(self) -> str:
        """The API's base, as NOTION_API_URL names it."""
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, page_id: str) -> str:
        page = self.pages[page_id]
        return f"{self.url()}/{page.title.replace(' ', '-')}-{page.id.replace('-', '')}"

    def fetched_pages(self) -> int:
        return sum(1 for method, path in self.hits if path.startswith("/v1/pages/"))

    def rate_limit(self, path_suffix: str, retry_after: int) -> None:
        self.rate_limited[path_suffix] = retry_after

    # --- serving -----------------------------------------------------------------------------
    def start(self, port: int = 0) -> "NotionLocal":
        notion = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                notion.hits.append((method, parts.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                status, data, headers = notion._reply(
                    method, parts.path, parse_qs(parts.query), body,
                    self.headers.get("Authorization", ""), self.headers.get("Notion-Version", ""),
                )  # fmt: skip
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _reply(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any],
        authorization: str, version: str,
    ) -> Reply:  # fmt: skip
        if authorization.removeprefix("Bearer ") not in self.tokens:
            return _error(401, "unauthorized", "API token is invalid.")
        if not version:
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        for suffix, retry_after in list(self.rate_limited.items()):
            if path.endswith(suffix):
                del self.rate_limited[suffix]
                status, data, _ = _error(429, "rate_limited", "You have been rate limited.")
                return status, data, {"Retry-After": str(retry_after)}
        if method == "POST" and path == "/v1/search":
            return self._search(body)
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 3 and parts[1] == "pages":
            page = self.pages.get(parts[2])
            if page is None or not page.shared:
                return _not_found("page", parts[2])
            return _json(self._page(page))
        if method == "GET" and len(parts) == 4 and parts[1] == "blocks" and parts[3] == "children":
            page = self.pages.get(parts[2])
            if page is not None and page.shared:
                blocks = page.blocks
            elif parts[2] in self.children:
                blocks = self.children[parts[2]]
            else:
                return _not_found("block", parts[2])
            size = int((query.get("page_size") or ["100"])[0])
            start = int((query.get("start_cursor") or ["0"])[0])
            return _json(_list(blocks, start, size, "block"))
        return _error(400, "invalid_request_url", "Invalid request URL.")

    def _search(self, body: dict[str, Any]) -> Reply:
        wanted = (body.get("filter") or {}).get("value", "page")
        pages = [p for p in self.pages.values() if p.shared] if wanted == "page" else []
        pages.sort(key=lambda p: p.edited, reverse=True)
        size = int(body.get("page_size") or 100)
        start = int(body.get("start_cursor") or 0)
        return _json(_list([self._page(p) for p in pages], start, size, "page_or_data_source"))

    def _page(self, page: NotionPage) -> dict[str, Any]:
        parent: dict[str, Any] = {"type": "workspace", "workspace": True}
        if page.database_id:
            parent = {"type": "data_source_id", "data_source_id": page.database_id,
                      "database_id": page.database_id}  # fmt: skip
        edited = page.edited.replace(second=0, microsecond=0)
        return {
            "object": "page", "id": page.id, "created_time": _iso(edited),
            "last_edited_time": _iso(edited), "in_trash": page.in_trash,
            "archived": page.in_trash, "parent": parent, "url": self.page_url(page.id),
            "properties": {
                **page.properties,
                "title": {"id": "title", "type": "title", "title": rich_text(page.title)},
            },
        }  # fmt: skip


def rich_text(text: str, **annotations: bool) -> list[dict[str, Any]]:
    return [{
        "type": "text", "text": {"content": text, "link": None}, "plain_text": text,
        "href": None,
        "annotations": {"bold": False, "italic": False, "strikethrough": False,
                        "underline": False, "code": False, "color": "default", **annotations},
    }]  # fmt: skip


def block(kind: str, text: str = "", **value: Any) -> dict[str, Any]:
    """A block as Notion returns it (children, if given, are served as its children)."""
    children = value.pop("children", None)
    data: dict[str, Any] = {"type": kind, kind: {"rich_text": rich_text(text), **value}}
    if kind in ("table_row", "table", "divider"):
        data[kind] = value
    if children:
        data["children"] = children
    return data


def _list(results: list[Any], start: int, size: int, kind: str) -> dict[str, Any]:
    page = results[start : start + size]
    more = start + size < len(results)
    return {
        "object": "list", "results": page, "next_cursor": str(start + size) if more else None,
        "has_more": more, "type": kind, kind: {},
    }  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(body: dict[str, Any]) -> Reply:
    return 200, json.dumps(body).encode(), {}


def _error(status: int, code: str, message: str) -> Reply:
    body = {"object": "error", "status": status, "code": code, "message": message,
            "request_id": str(uuid.uuid4())}  # fmt: skip
    return status, json.dumps(body).encode(), {}


def _not_found(kind: str, object_id: str) -> Reply:
    return _error(
        404, "object_not_found",
        f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and "
        "databases are shared with your integration.",
    )  # fmt: skip
