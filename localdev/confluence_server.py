"""A local server that speaks the parts of Confluence Cloud's REST API (version 1, under
/wiki/rest/api/) the Confluence source uses, so atlassian-python-api reads it in the tests
and offline development as it reads an Atlassian site.

- Basic authentication with an account's email and API token (else 401, as Cloud answers).
- GET /wiki/rest/api/content/search: CQL of the forms the source writes (`space in ("A",
  "B")` or `space = "A"`, `type in (page, attachment)` or `type = page`, `lastmodified >=
  "yyyy-MM-dd HH:mm"`, joined by `and`), in the account's time zone (`time_zone_hours`);
  `limit` and `cursor`, the next page named in `_links.next` as Cloud does.
- GET /wiki/rest/api/content/{id} with `expand` (body.storage, version, space, container),
  404 in Confluence's error shape for what is missing or trashed.
- GET /wiki/download/attachments/{page id}/{file name}: an attachment's bytes.
- Read restrictions (`expand=restrictions.read.restrictions.user,...group`), a page's
  `ancestors`, and GET /wiki/rest/api/group/{id}/membersByGroupId (people by email, unless
  their profile hides it).
- GET /wiki/rest/api/space/{key} with `expand=permissions`: the space's permissions as
  Cloud's version 1 lists them, one subject (a user or a group) and one operation each; the
  "View" permission is operation `read` on target type `space`. A space's viewers are
  whoever `space_view()` names (people by email, groups by name); a space never given any is
  viewable by anyone (`anonymousAccess`), as the sites of the older tests were read. A space
  whose `permissions_hidden` is set lists none (as Cloud does to an account that may not
  administer the space).
- `rate_limit(path_suffix, retry_after)` answers the next matching request with 429 and
  Retry-After. Every request is recorded in `hits` (method, path, query).
"""

import base64
import itertools
import json
import re
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlencode, urlsplit

Reply = tuple[int, bytes, str, dict[str, str]]


@dataclass
class Content:
    id: str
    type: str  # page or attachment
    space: str
    title: str
    body: str = ""  # a page's storage format
    data: bytes = b""  # an attachment's bytes
    media_type: str = ""
    page_id: str = ""  # an attachment's page
    version: int = 1
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "current"
    parent_id: str = ""  # a page's parent page
    # Its read restriction: people (by email) and groups (by name); empty: none.
    read_users: list[str] = field(default_factory=list)
    read_groups: list[str] = field(default_factory=list)


@dataclass
class ConfluenceLocal:
    spaces: dict[str, str] = field(default_factory=dict)  # key -> name
    contents: dict[str, Content] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # email -> API token
    groups: dict[str, list[str]] = field(default_factory=dict)  # name -> members' emails
    # Space key -> who may view it: (people by email, groups by name); absent: anyone.
    space_viewers: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    permissions_hidden: set[str] = field(default_factory=set)
    # People whose profile hides their email (Confluence then leaves it out).
    hidden_emails: set[str] = field(default_factory=set)
    # The accounts' time zone, as CQL reads dates in it.
    time_zone_hours: int = 0
    rate_limited: dict[str, int] = field(default_factory=dict)
    hits: list[tuple[str, str, str]] = field(default_factory=list)
    port: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1001))
    _server: ThreadingHTTPServer | None = None

    # --- the site's content ------------------------------------------------------------------
    def account(self, email: str, token: str) -> None:
        self.accounts[email] = token

    def space(self, key: str, name: str) -> str:
        self.spaces[key] = name
        return key

    def page(self, space: str, title: str, body: str, parent: str = "") -> Content:
        page = Content(
            id=str(next(self._ids)), type="page", space=space, title=title, body=body,
            parent_id=parent,
        )  # fmt: skip
        self.contents[page.id] = page
        return page

    def attach(self, page_id: str, filename: str, data: bytes, media_type: str) -> Content:
        page = self.contents[page_id]
        attachment = Content(
            id=f"att{next(self._ids)}", type="attachment", space=page.space, title=filename,
            data=data, media_type=media_type, page_id=page_id,
        )  # fmt: skip
        self.contents[attachment.id] = attachment
        return attachment

    def restrict(self, content_id: str, users: list[str], groups: list[str] | None = None) -> None:
        """Set a page's read restriction (empty lists lift it), as Confluence's page
        restrictions dialog does; it changes no version."""
        page = self.contents[content_id]
        page.read_users, page.read_groups = list(users), list(groups or [])

    def space_view(self, key: str, users: list[str], groups: list[str] | None = None) -> None:
        """Who has the space's View permission (a person or group given none of the space's
        permissions cannot see any page in it)."""
        self.space_viewers[key] = (list(users), list(groups or []))

    def group(self, name: str, members: list[str]) -> str:
        self.groups[name] = list(members)
        return _group_id(name)

    def edit(self, content_id: str, body: str | None = None, data: bytes | None = None) -> None:
        content = self.contents[content_id]
        if body is not None:
            content.body = body
        if data is not None:
            content.data = data
        content.version += 1
        content.modified = datetime.now(UTC)

    def delete(self, content_id: str) -> None:
        """Deleted as Confluence deletes: to the trash (the page's attachments with it)."""
        for content in self.contents.values():
            if content.id == content_id or content.page_id == content_id:
                content.status = "trashed"

    def url(self) -> str:
        """The site's address, as a customer gives it (https://acme.atlassian.net)."""
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, content_id: str) -> str:
        return f"{self.url()}/wiki{_webui(self.contents[content_id])}"

    def fetches(self) -> int:
        """Items fetched: contents read one by one, and downloads."""
        return sum(
            1
            for method, path, query in self.hits
            if re.fullmatch(r"/wiki/rest/api/content/(att)?\d+", path)
            or path.startswith("/wiki/download/")
        )

    def rate_limit(self, path_suffix: str, retry_after: int) -> None:
        self.rate_limited[path_suffix] = retry_after

    # --- serving -----------------------------------------------------------------------------
    def start(self, port: int = 0) -> "ConfluenceLocal":
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                site.hits.append(("GET", parts.path, parts.query))
                status, body, kind, headers = site._get(
                    unquote(parts.path),
                    parse_qs(parts.query),
                    self.headers.get("Authorization", ""),
                )
                self.send_response(status)
                self.send_header("Content-Type", kind)
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

    def _signed_in(self, authorization: str) -> bool:
        if not authorization.startswith("Basic "):
            return False
        try:
            email, _, token = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return False
        return bool(token) and self.accounts.get(email) == token

    def _get(self, path: str, query: dict[str, list[str]], authorization: str) -> Reply:
        if not self._signed_in(authorization):
            return _json(401, {"message": "Client must be authenticated to access this resource.",
                               "statusCode": 401})  # fmt: skip
        for suffix, retry_after in list(self.rate_limited.items()):
            if path.endswith(suffix):
                del self.rate_limited[suffix]
                status, body, kind, _ = _json(429, {"message": "Rate limit exceeded.",
                                                    "statusCode": 429})  # fmt: skip
                return status, body, kind, {"Retry-After": str(retry_after)}

        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        matched = re.fullmatch(r"/wiki/rest/api/group/([^/]+)/membersByGroupId", path)
        if matched:
            return self._members(matched[1], int(one("start") or 0), int(one("limit") or 200))
        matched = re.fullmatch(r"/wiki/rest/api/space/([^/]+)", path)
        if matched:
            return self._space(matched[1], one("expand").split(","))
        if path == "/wiki/rest/api/content/search":
            return self._search(one("cql"), int(one("limit") or 25), one("cursor"))
        matched = re.fullmatch(r"/wiki/rest/api/content/([^/]+)", path)
        if matched:
            content = self.contents.get(matched[1])
            if content is None or content.status != "current":
                return _not_found(matched[1])
            return _json(200, self._content(content, one("expand").split(",")))
        matched = re.fullmatch(r"/wiki/download/attachments/([^/]+)/(.+)", path)
        if matched:
            for content in self.contents.values():
                if (content.page_id, content.title, content.status) == (
                    matched[1], matched[2], "current",
                ):  # fmt: skip
                    return 200, content.data, content.media_type, {}
            return _not_found(matched[2])
        return _json(404, {"message": f"No route for {path}", "statusCode": 404})

    def _search(self, cql: str, limit: int, cursor: str) -> Reply:
        try:
            wanted = _cql_filter(cql, self.time_zone_hours)
        except ValueError as error:
            return _json(400, {"statusCode": 400, "message": f"Could not parse cql : {cql}. "
                               f"{error}"})  # fmt: skip
        matching = [c for c in self.contents.values() if c.status == "current" and wanted(c)]
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        page = matching[start : start + limit]
        body: dict[str, Any] = {
            "results": [self._content(content, []) for content in page],
            "start": start, "limit": limit, "size": len(page),
            "_links": {"base": f"{self.url()}/wiki", "context": "/wiki"},
        }  # fmt: skip
        if start + limit < len(matching):
            following = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            body["_links"]["next"] = "/rest/api/content/search?" + urlencode(
                {"next": "true", "cursor": following, "limit": limit, "cql": cql}
            )
        return _json(200, body)

    def _space(self, key: str, expand: list[str]) -> Reply:
        if key not in self.spaces:
            return _json(404, {"statusCode": 404, "message": f"No space with key : {key}"})
        body: dict[str, Any] = {
            "id": zlib.crc32(key.encode()) % 10**8, "key": key, "name": self.spaces[key],
            "type": "global",
            "_links": {"webui": f"/spaces/{key}", "base": f"{self.url()}/wiki"},
        }  # fmt: skip
        if "permissions" not in expand:
            return _json(200, body)
        ids = itertools.count(1)

        def permission(operation: str, target: str, **given: Any) -> dict[str, Any]:
            return {"id": next(ids), "operation": {"operation": operation, "targetType": target},
                    "anonymousAccess": False, "unlicensedAccess": False, **given}  # fmt: skip

        def subjects(kind: str, item: dict[str, Any]) -> dict[str, Any]:
            return {kind: {"results": [item], "size": 1}}

        permissions: list[dict[str, Any]] = []
        if key not in self.permissions_hidden:
            users, groups = self.space_viewers.get(key, ([], []))
            if key not in self.space_viewers:
                permissions.append(permission("read", "space", anonymousAccess=True))
            granted = [subjects("user", self._user(email)) for email in users] + [
                subjects("group", {"type": "group", "name": name, "id": _group_id(name)})
                for name in groups
            ]
            for subject in granted:
                # Every viewer also may comment, as Confluence's defaults give.
                for operation, target in (("read", "space"), ("create", "comment")):
                    permissions.append(permission(operation, target, subjects=subject))
        body["permissions"] = permissions
        return _json(200, body)

    def _members(self, group_id: str, start: int, limit: int) -> Reply:
        names = [name for name in self.groups if _group_id(name) == group_id]
        if not names:
            return _json(404, {"statusCode": 404, "message": f"No group found with id {group_id}"})
        members = self.groups[names[0]]
        page = members[start : start + limit]
        body: dict[str, Any] = {
            "results": [self._user(email) for email in page],
            "start": start, "limit": limit, "size": len(page), "_links": {},
        }  # fmt: skip
        if start + limit < len(members):
            body["_links"]["next"] = (
                f"/rest/api/group/{group_id}/membersByGroupId?start={start + limit}&limit={limit}"
            )
        return _json(200, body)

    def _user(self, email: str) -> dict[str, Any]:
        user = {"type": "known", "accountId": _group_id(email), "publicName": email.split("@")[0]}
        if email not in self.hidden_emails:
            user["email"] = email
        return user

    def _restrictions(self, content: Content) -> dict[str, Any]:
        def results(items: list[dict[str, Any]]) -> dict[str, Any]:
            return {"results": items, "start": 0, "limit": 200, "size": len(items)}

        groups = [{"type": "group", "name": name, "id": _group_id(name)}
                  for name in content.read_groups]  # fmt: skip
        return {
            "read": {
                "operation": "read",
                "restrictions": {"user": results([self._user(e) for e in content.read_users]),
                                 "group": results(groups)},
            }
        }  # fmt: skip

    def _ancestors(self, content: Content) -> list[dict[str, Any]]:
        chain: list[dict[str, Any]] = []
        parent = self.contents.get(content.parent_id)
        while parent is not None:
            chain.insert(0, {"id": parent.id, "type": "page", "title": parent.title})
            parent = self.contents.get(parent.parent_id)
        return chain

    def _content(self, content: Content, expand: list[str]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": content.id, "type": content.type, "status": content.status,
            "title": content.title,
            "_links": {"webui": _webui(content), "base": f"{self.url()}/wiki",
                       "self": f"{self.url()}/wiki/rest/api/content/{content.id}"},
        }  # fmt: skip
        if content.type == "attachment":
            data["_links"]["download"] = (
                f"/download/attachments/{content.page_id}/{quote(content.title)}"
                f"?version={content.version}&api=v2"
            )
            data["extensions"] = {"mediaType": content.media_type, "fileSize": len(content.data)}
        if "body.storage" in expand and content.type == "page":
            data["body"] = {"storage": {"value": content.body, "representation": "storage"}}
        if "version" in expand:
            data["version"] = {"number": content.version, "when": _iso(content.modified)}
        if "space" in expand:
            data["space"] = {"key": content.space, "name": self.spaces.get(content.space, "")}
        if any(e.startswith("restrictions.read") for e in expand):
            data["restrictions"] = self._restrictions(content)
        if "ancestors" in expand:
            data["ancestors"] = self._ancestors(content)
        if "container" in expand and content.page_id:
            data["container"] = {"id": content.page_id, "type": "page",
                                 "title": self.contents[content.page_id].title}  # fmt: skip
        return data


def _cql_filter(cql: str, time_zone_hours: int) -> Callable[[Content], bool]:
    """The CQL the source writes, as a test on one content; ValueError for anything else."""
    tests: list[Callable[[Content], bool]] = []
    for clause in re.split(r"\s+and\s+", cql.strip(), flags=re.I):
        matched = re.fullmatch(r"(space|type)\s*(=|in)\s*\(?([^)]*)\)?", clause, re.I)
        if matched:
            values = {v.strip().strip('"') for v in matched[3].split(",")}
            tests.append(partial(_field_in, matched[1].lower(), values))
            continue
        matched = re.fullmatch(r'lastmodified\s*(>=|>)\s*"(\d{4}-\d\d-\d\d \d\d:\d\d)"', clause)
        if matched:
            local = datetime.strptime(matched[2], "%Y-%m-%d %H:%M")
            since = (local - timedelta(hours=time_zone_hours)).replace(tzinfo=UTC)
            tests.append(partial(_modified_since, since))
            continue
        raise ValueError(f"Unsupported clause: {clause}")
    return lambda content: all(test(content) for test in tests)


def _field_in(name: str, values: set[str], content: Content) -> bool:
    return getattr(content, name) in values


def _modified_since(since: datetime, content: Content) -> bool:
    return content.modified >= since


def _group_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _webui(content: Content) -> str:
    if content.type == "attachment":
        return (
            f"/pages/viewpageattachments.action?pageId={content.page_id}"
            f"&preview=/{content.page_id}/{content.id}/{quote(content.title)}"
        )
    return f"/spaces/{content.space}/pages/{content.id}/{quote_plus(content.title)}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(status: int, body: dict[str, Any]) -> Reply:
    return status, json.dumps(body).encode(), "application/json;charset=UTF-8", {}


def _not_found(content_id: str) -> Reply:
    return _json(404, {
        "statusCode": 404, "message": f"No content found with id : ContentId{{id={content_id}}}",
        "reason": "Not Found",
        "data": {"authorized": False, "valid": True, "errors": [], "successful": False},
    })  # fmt: skip
