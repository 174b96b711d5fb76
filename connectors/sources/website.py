"""A website: the pages of a sitemap.xml, or those reached by links from a start URL, within
a path prefix. robots.txt is obeyed; a page is asked for with the validators it last sent
(ETag / Last-Modified), so an unchanged page costs a 304; the main text of a page is taken
by trafilatura (navigation, footers and ads left out) and stored as Markdown. PDFs and
office files the site links to are synced as they are. Every address, redirects included,
must be public (guarded_http)."""

import posixpath
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.etree
import lxml.html
import requests
import trafilatura
from django.conf import settings
from django.utils.text import slugify

from connectors.sources import (
    Fetched,
    Gone,
    ItemRef,
    ItemUnreadable,
    Listing,
    SourceUnavailable,
    Unchanged,
)
from connectors.sources.guarded_http import guarded_get

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
# Files a site may link to that the knowledge base reads as they are, by their extension.
DOCUMENT_EXTENSIONS = {".pdf", ".docx", ".xlsx", ".pptx", ".csv", ".md", ".txt"}
# Links never worth fetching as pages.
SKIPPED_EXTENSIONS = {
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".css", ".js", ".zip", ".gz",
    ".mp3", ".mp4", ".webm", ".woff", ".woff2", ".xml", ".json",
}  # fmt: skip
HTML_TYPES = ("text/html", "application/xhtml+xml")


def scope_default(start_url: str) -> str:
    """The prefix a start URL implies: its folder (https://x.com/docs/ for .../docs/a.html)."""
    parts = urlsplit(start_url)
    folder = parts.path if parts.path.endswith("/") else posixpath.dirname(parts.path) + "/"
    return f"{parts.scheme}://{parts.netloc}{folder.replace('//', '/')}"


def _normalised(url: str) -> str:
    return urldefrag(url)[0]


class WebsiteSource:
    def __init__(self, *, start_url: str, prefix: str, auth: tuple[str, str] | None) -> None:
        self.start_url = _normalised(start_url)
        self.prefix = prefix or scope_default(start_url)
        self.is_sitemap = urlsplit(self.start_url).path.endswith(".xml")
        self.follows_links = not self.is_sitemap
        self.max_items: int | None = settings.CONNECTOR_WEBSITE_MAX_PAGES
        self.session = requests.Session()
        if auth:
            self.session.auth = auth
        self._robots: RobotFileParser | None = None

    def in_scope(self, url: str) -> bool:
        extension = posixpath.splitext(urlsplit(url).path)[1].lower()
        return url.startswith(self.prefix) and extension not in SKIPPED_EXTENSIONS

    def robots(self) -> RobotFileParser:
        if self._robots is None:
            parts = urlsplit(self.start_url)
            robots = RobotFileParser()
            response = guarded_get(self.session, f"{parts.scheme}://{parts.netloc}/robots.txt")
            if response.status_code >= 500:
                # RFC 9309: a robots.txt that cannot be read means nothing may be fetched.
                raise SourceUnavailable(
                    f"The site's robots.txt answered {response.status_code}; nothing is read "
                    "until it can be."
                )
            robots.parse(response.text.splitlines() if response.status_code == 200 else [])
            self._robots = robots
        return self._robots

    def allowed(self, url: str) -> bool:
        return self.robots().can_fetch(settings.CONNECTOR_USER_AGENT, url)

    def listing(self) -> Listing:
        if not self.allowed(self.start_url) and not self.is_sitemap:
            raise SourceUnavailable(
                f"The site's robots.txt does not allow reading {self.start_url}."
            )
        if not self.is_sitemap:
            return Listing(items=[ItemRef(self.start_url, self.start_url)], complete=True)
        urls, complete = self._sitemap_urls(self.start_url, depth=0)
        wanted = [url for url in dict.fromkeys(urls) if self.in_scope(url) and self.allowed(url)]
        return Listing(items=[ItemRef(url, url) for url in wanted], complete=complete)

    def _sitemap_urls(self, url: str, *, depth: int) -> tuple[list[str], bool]:
        response = guarded_get(self.session, url)
        if response.status_code != 200:
            raise SourceUnavailable(f"The sitemap {url} answered {response.status_code}.")
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = lxml.etree.fromstring(response.content, parser=parser)
        except lxml.etree.XMLSyntaxError:
            raise SourceUnavailable(f"The sitemap {url} is not valid XML.") from None
        locations = [(loc.text or "").strip() for loc in root.iter(f"{SITEMAP_NS}loc")]
        if root.tag != f"{SITEMAP_NS}sitemapindex":
            return [_normalised(loc) for loc in locations if loc], True
        if depth >= 2:
            return [], False
        urls: list[str] = []
        complete = True
        for child in locations:
            try:
                found, whole = self._sitemap_urls(child, depth=depth + 1)
            except SourceUnavailable:
                # The others still sync; without this part, nothing may be pruned.
                found, whole = [], False
            urls.extend(found)
            complete = complete and whole
        return urls, complete

    def fetch(self, item: ItemRef, *, etag: str, last_modified: str) -> Fetched | Unchanged | Gone:
        if not self.allowed(item.url):
            return Gone("The site's robots.txt no longer allows reading it.")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            response = guarded_get(self.session, item.url, headers=headers)
        except SourceUnavailable as refusal:
            raise ItemUnreadable(str(refusal)) from None
        if response.status_code == 304:
            return Unchanged()
        if response.status_code in (404, 410):
            return Gone(f"The page answered {response.status_code}.")
        if response.status_code != 200:
            raise ItemUnreadable(f"The page answered {response.status_code}.")
        if not self.in_scope(_normalised(response.url)):
            return Gone(f"It now redirects outside {self.prefix}.")
        etag = response.headers.get("ETag", "")
        last_modified = response.headers.get("Last-Modified", "")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in HTML_TYPES:
            return self._page(item, response, etag=etag, last_modified=last_modified)
        name = posixpath.basename(urlsplit(response.url).path)
        if posixpath.splitext(name)[1].lower() in DOCUMENT_EXTENSIONS:
            title = posixpath.splitext(name)[0].replace("-", " ").replace("_", " ")
            return Fetched(
                data=response.content, filename=name, title=title, url=item.url, etag=etag,
                last_modified=last_modified,
            )  # fmt: skip
        return Gone(f"It is {content_type or 'of no stated type'}, not a page or a document.")

    def _page(
        self, item: ItemRef, response: requests.Response, *, etag: str, last_modified: str
    ) -> Fetched:
        html = response.text
        text = trafilatura.extract(
            html, url=response.url, output_format="markdown", include_tables=True,
            include_comments=False, favor_recall=True,
        )  # fmt: skip
        if not text or not text.strip():
            raise ItemUnreadable("The page has no main text to read.")
        metadata = trafilatura.extract_metadata(html)
        title = (metadata.title if metadata and metadata.title else "") or item.url
        path = urlsplit(response.url).path.strip("/")
        filename = f"{slugify(path.replace('/', '-'))[:80] or 'index'}.md"
        body = text if text.lstrip().startswith("# ") else f"# {title}\n\n{text}"
        return Fetched(
            data=body.encode("utf-8"), filename=filename, title=title[:300], url=item.url,
            etag=etag, last_modified=last_modified, links=self._links(html, response.url),
        )  # fmt: skip

    def _links(self, html: str, base: str) -> list[ItemRef]:
        if not self.follows_links:
            return []
        try:
            tree = lxml.html.fromstring(html)
        except (lxml.etree.ParserError, ValueError):
            return []
        found = []
        for anchor in tree.iterfind(".//a[@href]"):
            url = _normalised(urljoin(base, anchor.get("href", "")))
            if self.in_scope(url):
                found.append(url)
        return [ItemRef(url, url) for url in dict.fromkeys(found)]
