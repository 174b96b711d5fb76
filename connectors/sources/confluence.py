"""Confluence Cloud through atlassian-python-api, with an Atlassian account's email and API
token: the pages of the chosen spaces and the files attached to them, each a document.

Every sync lists what the spaces hold now with one CQL search (ids only), so that what was
deleted, moved out of the spaces or restricted away from the account is pruned. The first
sync fetches everything; a later one fetches only what CQL finds modified since the last
sync began (`lastmodified`) and what is present but new to the connector. CQL reads its
dates in the account's own time zone, which the API does not tell: the search starts
CQL_MARGIN earlier than the last sync (more than any UTC offset), and an item whose version
is the one synced last is not downloaded again.

Readers: whoever may view the page's space (its View permission, read with
`space/{key}?expand=permissions`) and is let in by the page's read restriction and its
ancestors' (see `_readers`); the permission-only sync reads them all again each time
(Confluence has no feed of permission changes).

A page's body is its storage format (XHTML with Confluence's ac:/ri: elements), turned into
plain HTML here; an attachment is downloaded as it is. The REST API is version 1's
(`/wiki/rest/api/...`), which Confluence Cloud serves beside version 2 and which has CQL."""

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from atlassian.confluence import ConfluenceCloud
from bs4 import BeautifulSoup, Tag
from django.conf import settings

from connectors.sources import (
    Fetched,
    Gone,
    ItemRef,
    ItemUnreadable,
    Listing,
    RateLimited,
    Readers,
    ReadersListing,
    SourceUnavailable,
    Unchanged,
)
from connectors.sources.guarded_http import address_ensure_public, retry_after_seconds

PAGE_SIZE = 200
# Wider than any UTC offset (-12 h .. +14 h): see the module's docstring.
CQL_MARGIN = timedelta(hours=14, minutes=1)
SPACE_KEY = re.compile(r"^[A-Za-z0-9~][A-Za-z0-9_~-]{0,254}$")
CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
# Storage-format elements whose content is not text a reader sees.
DROPPED = {"ac:parameter", "ac:image", "ri:attachment", "ri:user", "ri:url", "ri:space"}
RESTRICTIONS = (
    "ancestors,container,space,restrictions.read.restrictions.user,"
    "restrictions.read.restrictions.group"
)
# The space permission that lets one see a space's pages at all ("View").
SPACE_VIEW = ("read", "space")
# No restriction beyond the workspace's own grant.
UNRESTRICTED = Readers(public=True)


def space_keys_refusal(keys: list[str]) -> str:
    """Why a list of space keys cannot be used, or ""."""
    if not keys:
        return "Name at least one space, by its key (the part after /spaces/ in its address)."
    odd = [key for key in keys if not SPACE_KEY.match(key)]
    if odd:
        return f"“{odd[0]}” is not a space key: keys are letters and digits, such as HR or ENG."
    return ""


class ConfluenceSource:
    follows_links = False
    max_items: int | None = None

    def __init__(
        self, *, site_url: str, email: str, api_token: str, spaces: list[str], cursor: str
    ) -> None:
        self.site = site_url.rstrip("/")
        self.spaces, self.cursor = spaces, cursor
        # Pages' read restrictions by id, spaces' viewers by key and groups' members by id,
        # read once a sync (ancestors, spaces and groups are shared by many items).
        self._restricted_pages: dict[str, dict[str, Any]] = {}
        self._space_viewers: dict[str, Readers] = {}
        self._members: dict[str, frozenset[str]] = {}
        # The site is an address a customer typed: only a public one is read (as a website
        # source's), checked again at every sync since its name may resolve elsewhere now.
        address_ensure_public(self.site)
        self.confluence = ConfluenceCloud(  # type: ignore[no-untyped-call]
            url=f"{self.site}/wiki/rest/api", username=email, password=api_token, cloud=True,
            timeout=settings.CONNECTOR_HTTP_TIMEOUT_SECONDS,
            # A 429 is the sync's to wait out in the queue, never a sleep in the worker.
            retry_with_header=False, backoff_and_retry=False,
        )  # fmt: skip

    def _call(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except requests.HTTPError as error:
            response = error.response
            status = response.status_code if response is not None else 0
            if response is not None and status == 429:
                raise RateLimited(
                    retry_after_seconds(response.headers.get("Retry-After"))
                ) from None
            if status in (401, 403):
                raise SourceUnavailable(
                    "Confluence refused the email and API token: check the token is current "
                    "and belongs to that email's Atlassian account."
                ) from None
            raise
        except requests.RequestException as error:
            raise SourceUnavailable(
                f"Confluence at {self.site} could not be reached ({type(error).__name__})."
            ) from None

    # --- listing ---------------------------------------------------------------------------
    def _scope(self) -> str:
        keys = ", ".join(f'"{key}"' for key in self.spaces)
        return f"space in ({keys}) and type in (page, attachment)"

    def _search(self, cql: str) -> list[ItemRef]:
        refs: list[ItemRef] = []
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        while True:
            page = self._call(self.confluence.cql, cql, **params)
            refs += [ItemRef(source_id=str(c["id"]), url=self._url(c)) for c in page["results"]]
            following = (page.get("_links") or {}).get("next")
            if not following or not page["results"]:
                return refs
            # The next page is the same search from a cursor the link carries.
            params = {k: v for k, v in parse_qsl(urlsplit(following).query) if k != "cql"}

    def listing(self) -> Listing:
        started = datetime.now(UTC)
        try:
            present = self._search(self._scope())
            if not self.cursor:
                return Listing(items=present, complete=True, cursor=started.isoformat())
            since = datetime.fromisoformat(self.cursor) - CQL_MARGIN
            changed = self._search(f'{self._scope()} and lastmodified >= "{since:%Y-%m-%d %H:%M}"')
        except requests.HTTPError as error:
            raise SourceUnavailable(_http_refusal(error)) from None
        return Listing(
            items=changed, complete=True, delta=True, present=present,
            cursor=started.isoformat(),
        )  # fmt: skip

    # --- one item ----------------------------------------------------------------------------
    def fetch(self, item: ItemRef, *, etag: str, last_modified: str) -> Fetched | Unchanged | Gone:
        try:
            content = self._call(
                self.confluence.get_content, item.source_id,
                params={"expand": f"body.storage,version,{RESTRICTIONS}"},
            )  # fmt: skip
            if content.get("status", "current") != "current":
                return Gone("It was moved to the trash in Confluence.")
            if (content.get("space") or {}).get("key") not in self.spaces:
                return Gone("It was moved to a space this source does not sync.")
            version = str((content.get("version") or {}).get("number", ""))
            readers = self._readers(content)
            if etag and etag == version:
                return Unchanged(readers=readers)
            if content["type"] == "attachment":
                data, filename = self._download(content), content["title"]
            else:
                storage = ((content.get("body") or {}).get("storage") or {}).get("value", "")
                data = storage_html(content["title"], storage).encode()
                filename = f"{_safe_name(content['title'])}.html"
        except requests.HTTPError as error:
            if error.response is not None and error.response.status_code == 404:
                return Gone("It is no longer in Confluence (or no longer readable by the account).")
            raise ItemUnreadable(_http_refusal(error)) from None
        title = content["title"]
        if content["type"] == "attachment" and "." in title:
            title = title.rsplit(".", 1)[0]
        return Fetched(
            data=data, filename=filename, title=title, url=self._url(content), etag=version,
            readers=readers,
        )  # fmt: skip

    # --- permissions -------------------------------------------------------------------------
    def _restricted(self, content_id: str) -> dict[str, Any]:
        if content_id not in self._restricted_pages:
            self._restricted_pages[content_id] = self._call(
                self.confluence.get_content, content_id, params={"expand": RESTRICTIONS}
            )
        return self._restricted_pages[content_id]

    def _readers(self, content: dict[str, Any]) -> Readers:
        """Who may read a page (an attachment: its page) in Confluence: whoever may view its
        space (the space's View permission: people and groups; anyone, where the space lets
        anonymous users in) and is let in by the page's own read restriction and by each
        restricted ancestor's. Where only one of these restricts, its people and groups are
        the readers (a group's members as the group sync reads them); where several do, the
        people every one of them lets in (its people and its groups' members, read now),
        and the groups every one names. Fewer than Confluence may allow, never more: people
        whose email Confluence does not show (their profile's visibility) are left out, and
        a space whose permissions the account may not see (it does not administer the
        space: Confluence lists none) lets nobody in."""
        page = content
        if content.get("type") == "attachment":
            page = self._restricted(str((content.get("container") or {}).get("id", "")))
        levels = [_read_restriction(page)] + [
            _read_restriction(self._restricted(str(ancestor["id"])))
            for ancestor in page.get("ancestors") or []
        ]
        restricting = [level for level in levels if level is not None]
        space = self._space_readers(str((page.get("space") or {}).get("key", "")))
        if not space.public:
            restricting.insert(0, (space.emails, space.groups))
        if not restricting:
            return UNRESTRICTED
        if len(restricting) == 1:
            emails, groups = restricting[0]
            return Readers(emails=emails, groups=groups)
        # Who every level lets in; those let in through a group every level names stay
        # readers through that group (its members follow the group sync), not by name.
        everywhere = frozenset.intersection(*(groups for _, groups in restricting))
        let_in = frozenset.intersection(
            *(emails | self._people_of(groups) for emails, groups in restricting)
        )
        named = frozenset.intersection(*(emails for emails, _ in restricting))
        return Readers(emails=(let_in - self._people_of(everywhere)) | named, groups=everywhere)

    def _space_readers(self, key: str) -> Readers:
        """Who has the View permission of the space `key` (public: anonymous access)."""
        if key not in self._space_viewers:
            try:
                space = self._call(self.confluence.get, f"space/{key}",
                                   params={"expand": "permissions"})  # fmt: skip
            except requests.HTTPError as error:
                raise SourceUnavailable(
                    f"The permissions of the space {key} could not be read: {_http_refusal(error)}"
                ) from None
            self._space_viewers[key] = _space_view(space or {})
        return self._space_viewers[key]

    def _people_of(self, groups: frozenset[str]) -> frozenset[str]:
        people: set[str] = set()
        for group in groups:
            if group not in self._members:
                self._members[group] = frozenset(self.group_members(group) or [])
            people |= self._members[group]
        return frozenset(people)

    def readers(self, items: Sequence[ItemRef], *, cursor: str) -> ReadersListing:
        """Every item's readers (Confluence has no feed of restriction changes): one
        request per item and per restricted ancestor, no content."""
        found: dict[str, Readers] = {}
        for item in items:
            try:
                content = self._restricted(item.source_id)
            except requests.HTTPError as error:
                if error.response is not None and error.response.status_code == 404:
                    continue  # gone: the next content sync removes it
                raise SourceUnavailable(_http_refusal(error)) from None
            found[item.source_id] = self._readers(content)
        return ReadersListing(readers=found)

    def group_members(self, group: str) -> list[str] | None:
        """The emails of a Confluence group's members (by the group's id); None when
        Confluence does not know the group."""
        emails: list[str] = []
        start = 0
        while True:
            try:
                page = self._call(
                    self.confluence.get, f"group/{group}/membersByGroupId",
                    params={"start": start, "limit": PAGE_SIZE},
                )  # fmt: skip
            except requests.HTTPError as error:
                if error.response is not None and error.response.status_code == 404:
                    return None
                raise SourceUnavailable(_http_refusal(error)) from None
            results = page.get("results", [])
            emails += [user["email"].lower() for user in results if user.get("email")]
            if not results or not (page.get("_links") or {}).get("next"):
                return emails
            start += len(results)

    def _download(self, attachment: dict[str, Any]) -> bytes:
        link = (attachment.get("_links") or {}).get("download", "")
        if not link:
            raise ItemUnreadable("Confluence gave no download link for this attachment.")
        response = self._call(
            self.confluence.get, f"{self.site}/wiki{link}", absolute=True, not_json_response=True
        )
        return bytes(response)

    def _url(self, content: dict[str, Any]) -> str:
        webui = (content.get("_links") or {}).get("webui", "")
        return f"{self.site}/wiki{webui}" if webui else ""


def _read_restriction(
    content: dict[str, Any],
) -> tuple[frozenset[str], frozenset[str]] | None:
    """The (emails, group ids) a content's own read restriction names; None: none."""
    read = ((content.get("restrictions") or {}).get("read") or {}).get("restrictions") or {}
    users = (read.get("user") or {}).get("results", [])
    groups = (read.get("group") or {}).get("results", [])
    if not users and not groups:
        return None
    return (
        frozenset(user["email"].lower() for user in users if user.get("email")),
        frozenset(str(group.get("id") or group.get("name")) for group in groups),
    )


def _space_view(space: dict[str, Any]) -> Readers:
    """The people (emails) and groups (ids) a space's View permission names; public when it
    lets anonymous users view it."""
    emails: set[str] = set()
    groups: set[str] = set()
    for permission in space.get("permissions") or []:
        operation = permission.get("operation") or {}
        if (operation.get("operation"), operation.get("targetType")) != SPACE_VIEW:
            continue
        if permission.get("anonymousAccess"):
            return Readers(public=True)
        subjects = permission.get("subjects") or {}
        for user in (subjects.get("user") or {}).get("results", []):
            if user.get("email"):
                emails.add(user["email"].lower())
        for group in (subjects.get("group") or {}).get("results", []):
            groups.add(str(group.get("id") or group.get("name")))
    return Readers(emails=frozenset(emails), groups=frozenset(groups))


def storage_html(title: str, storage: str) -> str:
    """A page's storage-format body as an HTML document the knowledge base reads: macros'
    bodies kept as their text (code as <pre>), links as their words, images and
    parameters left out."""
    storage = CDATA.sub(lambda matched: html.escape(matched[1]), storage)
    soup = BeautifulSoup(storage, "html.parser")
    for element in soup.find_all(lambda tag: ":" in tag.name):
        if not isinstance(element, Tag) or element.decomposed:
            continue
        if element.name in DROPPED:
            element.decompose()
        elif element.name == "ac:plain-text-body":
            element.name = "pre"
        elif element.name == "ri:page":
            element.replace_with(str(element.get("ri:content-title", "")))
        else:
            element.unwrap()
    heading = html.escape(title)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{heading}</title></head>'
        f"<body><main><h1>{heading}</h1>{soup}</main></body></html>"
    )


def _safe_name(title: str) -> str:
    return re.sub(r"[\\/:*?\"<>|]+", " ", title).strip()[:150] or "page"


def _http_refusal(error: requests.HTTPError) -> str:
    status = error.response.status_code if error.response is not None else "an error"
    return f"Confluence answered {status}: {str(error)[:300]}"
