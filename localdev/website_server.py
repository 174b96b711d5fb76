"""A local website for the website source (connectors/sources/website.py): pages held in
memory and served over HTTP as a real site serves them, so the source's real HTTP client
(requests) and trafilatura read it in the tests, the benchmark and development.

It answers with ETag and Last-Modified and honours If-None-Match / If-Modified-Since (304),
serves robots.txt and sitemap.xml (or a sitemap index) as given, redirects where told,
answers 429 with Retry-After once for a path when told (`rate_limit`), fails a path with a
status when told (`fail`), and asks for HTTP Basic credentials when `basic_auth` is set.
Every request is recorded (`hits`: path, status) so a test can count what a sync fetched.

    python -m localdev.website_server --port 8090 --pages samples/  # serves a folder
"""

import argparse
import base64
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Page:
    body: bytes
    content_type: str
    modified: datetime

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    @property
    def last_modified(self) -> str:
        return format_datetime(self.modified, usegmt=True)


@dataclass
class WebsiteLocal:
    pages: dict[str, Page] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    rate_limited: dict[str, int | None] = field(default_factory=dict)
    failing: dict[str, int] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    hits: list[tuple[str, int]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    # --- what the site holds ---------------------------------------------------------------
    def page(self, path: str, body: str | bytes, content_type: str = "text/html") -> None:
        data = body.encode() if isinstance(body, str) else body
        previous = self.pages.get(path)
        if previous is not None and previous.body == data:
            return
        # Whole seconds, as HTTP dates are; a change always moves the date on.
        now = datetime.now(UTC).replace(microsecond=0)
        if previous is not None and now <= previous.modified:
            now = previous.modified + timedelta(seconds=1)
        self.pages[path] = Page(body=data, content_type=content_type, modified=now)

    def html(self, path: str, title: str, text: str, links: Sequence[str] = ()) -> None:
        anchors = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
        self.page(
            path,
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<nav><ul>{anchors}</ul></nav><main><h1>{title}</h1>{text}</main>"
            "<footer>Example Corp · Privacy · Contact</footer></body></html>",
        )

    def remove(self, path: str) -> None:
        self.pages.pop(path, None)

    def rate_limit(self, path: str, retry_after: int | None) -> None:
        """Answer the next request for `path` with 429 and this Retry-After (None: none)."""
        self.rate_limited[path] = retry_after

    def fail(self, path: str, status: int) -> None:
        """Answer every request for `path` with `status` until `recover`."""
        self.failing[path] = status

    def recover(self, path: str) -> None:
        self.failing.pop(path, None)

    def fetched(self, path: str, status: int = 200) -> int:
        return sum(1 for hit in self.hits if hit == (path, status))

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # --- serving -------------------------------------------------------------------------------
    def start(self, port: int = 0) -> "WebsiteLocal":
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                status, headers, body = site._answer(path, dict(self.headers.items()))
                site.hits.append((path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.basic_auth is not None and path != "/robots.txt":
            expected = "Basic " + base64.b64encode(":".join(self.basic_auth).encode()).decode()
            if headers.get("Authorization") != expected:
                return 401, {"WWW-Authenticate": 'Basic realm="site"'}, b"Sign in"
        if path in self.rate_limited:
            retry_after = self.rate_limited.pop(path)
            told = {} if retry_after is None else {"Retry-After": str(retry_after)}
            return 429, told, b"Slow down"
        if path in self.failing:
            return self.failing[path], {}, b"Server error"
        if path in self.redirects:
            return 302, {"Location": self.redirects[path]}, b""
        page = self.pages.get(path)
        if page is None:
            return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"
        validators = {"ETag": page.etag, "Last-Modified": page.last_modified}
        if headers.get("If-None-Match") == page.etag or (
            "If-None-Match" not in headers
            and headers.get("If-Modified-Since") == page.last_modified
        ):
            return 304, validators, b""
        return 200, {"Content-Type": page.content_type, **validators}, page.body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--pages", type=Path, help="a folder of .html/.md files to serve")
    arguments = parser.parse_args()
    site = WebsiteLocal()
    links = []
    for file in sorted((arguments.pages or Path()).glob("*.htm*")):
        links.append(f"/{file.name}")
        site.page(f"/{file.name}", file.read_bytes())
    site.html("/", "Index", "<p>The pages of this site.</p>", links)
    site.page("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    site.start(arguments.port)
    print(f"Local website on {site.url()}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
