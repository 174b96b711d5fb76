"""A local server that speaks the parts of Google Drive API v3 the Drive source uses, so
google-api-python-client (with google-auth's service-account credentials) reads it in the
tests and offline development as it reads Google's.

- POST /token: OAuth 2.0's JWT bearer grant (RFC 7523), as a service account asks for an
  access token: the assertion's signature is checked against the registered account's
  public key; the answer is {"access_token", "expires_in", "token_type"}.
- Under /drive/v3/ (an access token required, else 401 in Google's error shape):
  files.list (`q` with `'<id>' in parents` and `trashed = false`, pageSize, pageToken),
  files.get (metadata; `alt=media` for the bytes), files.export (`mimeType`),
  changes.getStartPageToken and changes.list (pageToken, pageSize; nextPageToken, then
  newStartPageToken).
- Permissions: each file's `permissions` (type user, group, domain or anyone, with a role)
  in its metadata, except a file on a shared drive, whose permissions only
  permissions.list (/drive/v3/files/<id>/permissions) gives, as Google does; `share` and
  `unshare` change them (a change in the changes feed, the version unchanged).
- The Admin SDK's Directory API: /admin/directory/v1/groups/<key>/members
  (includeDerivedMembership flattens nested groups; members of type USER or GROUP); 403
  when `directory_refused` (a delegation without the directory's scope).
- `rate_limit(path_suffix, retry_after)` answers the next matching request with 429, as
  Google does under quota. Every request is recorded in `hits` (method, path, query).
"""

import hashlib
import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FOLDER = "application/vnd.google-apps.folder"
GOOGLE_DOC = "application/vnd.google-apps.document"
GOOGLE_SHEET = "application/vnd.google-apps.spreadsheet"
GOOGLE_SLIDES = "application/vnd.google-apps.presentation"


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    content: bytes = b""
    # For Google Docs, Sheets and Slides: the bytes of each export format.
    exports: dict[str, bytes] = field(default_factory=dict)
    trashed: bool = False
    modified: str = ""
    version: int = 1
    # Drive permissions: {"type": "user"|"group"|"domain"|"anyone", "role": ...,
    # "emailAddress" or "domain"}.
    permissions: list[dict[str, Any]] = field(default_factory=list)
    on_shared_drive: bool = False

    def permission_rows(self) -> list[dict[str, Any]]:
        return [
            {"kind": "drive#permission", "id": f"p{index}", **permission}
            for index, permission in enumerate(self.permissions)
        ]

    def metadata(self, port: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": "drive#file", "id": self.id, "name": self.name, "mimeType": self.mime_type,
            "parents": self.parents, "trashed": self.trashed, "modifiedTime": self.modified,
            "version": str(self.version),
            "webViewLink": f"http://127.0.0.1:{port}/file/d/{self.id}/view",
        }  # fmt: skip
        if not self.on_shared_drive:
            data["permissions"] = self.permission_rows()
        if not self.mime_type.startswith("application/vnd.google-apps."):
            data["md5Checksum"] = hashlib.md5(self.content).hexdigest()  # noqa: S324 - Drive's own
            data["size"] = str(len(self.content))
        return data


@dataclass
class DriveLocal:
    files: dict[str, DriveFile] = field(default_factory=dict)
    # (file id, removed) in the order changes happened; a page token is an index into it.
    changes: list[tuple[str, bool]] = field(default_factory=list)
    accounts: dict[str, Any] = field(default_factory=dict)  # client email -> public key
    tokens: set[str] = field(default_factory=set)
    rate_limited: dict[str, int] = field(default_factory=dict)
    # Google groups by address: their members' addresses (a member may be a group).
    groups: dict[str, list[str]] = field(default_factory=dict)
    directory_refused: bool = False
    hits: list[tuple[str, str, str]] = field(default_factory=list)
    # `hold_download(n)`: the n-th download waits for `release_downloads()`, and `holding`
    # says it arrived: a test kills the worker that is waiting on it.
    hold_at: int = 0
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    # --- accounts --------------------------------------------------------------------------
    def service_account(
        self, email: str = "sync@example-project.iam.gserviceaccount.com"
    ) -> dict[str, str]:
        """A service account's key file (JSON) this server accepts, as Google issues one."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.accounts[email] = key.public_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()  # fmt: skip
        return {
            "type": "service_account", "project_id": "example-project",
            "private_key_id": secrets.token_hex(20), "private_key": pem, "client_email": email,
            "client_id": "1234567890", "token_uri": "https://oauth2.googleapis.com/token",
        }  # fmt: skip

    # --- the drive's content -----------------------------------------------------------------
    def add(
        self, name: str, content: bytes = b"", *, mime_type: str = "text/plain",
        parents: tuple[str, ...] = (), exports: dict[str, bytes] | None = None,
        owner: str = "files@example.com", on_shared_drive: bool = False,
    ) -> DriveFile:  # fmt: skip
        """A file owned by `owner` (every Drive file has an owner's permission), shared with
        nobody else until `share`."""
        file = DriveFile(
            id=f"f{next(self._ids):05d}", name=name, mime_type=mime_type, parents=list(parents),
            content=content, exports=exports or {}, modified=_now(),
            permissions=[{"type": "user", "role": "owner", "emailAddress": owner}],
            on_shared_drive=on_shared_drive,
        )  # fmt: skip
        self.files[file.id] = file
        self.changes.append((file.id, False))
        return file

    def folder(self, name: str, parents: tuple[str, ...] = ()) -> DriveFile:
        return self.add(name, mime_type=FOLDER, parents=parents)

    def edit(self, file_id: str, content: bytes, exports: dict[str, bytes] | None = None) -> None:
        file = self.files[file_id]
        file.content, file.version, file.modified = content, file.version + 1, _now()
        if exports is not None:
            file.exports = exports
        self.changes.append((file_id, False))

    def delete(self, file_id: str) -> None:
        del self.files[file_id]
        self.changes.append((file_id, True))

    def share(self, file_id: str, kind: str, address: str = "", role: str = "reader") -> None:
        """Share a file: with a user or group (`address`), a domain (`address` is the
        domain) or anyone."""
        permission: dict[str, Any] = {"type": kind, "role": role}
        if kind in ("user", "group"):
            permission["emailAddress"] = address
        elif kind == "domain":
            permission["domain"] = address
        self.files[file_id].permissions.append(permission)
        self.changes.append((file_id, False))

    def unshare(self, file_id: str, address: str) -> None:
        """Take a user, group or domain (or "anyone") off the file's permissions."""
        file = self.files[file_id]
        named = address.lower()  # addresses are not case-sensitive at Google
        file.permissions = [
            p
            for p in file.permissions
            if named
            not in (
                (p.get("emailAddress") or "").lower(),
                (p.get("domain") or "").lower(),
                p["type"],
            )
        ]
        self.changes.append((file_id, False))

    def downloads(self) -> int:
        return sum(
            1
            for method, path, query in self.hits
            if "alt=media" in query or path.endswith("/export")
        )

    def hold_download(self, number: int) -> None:
        self.hold_at, self.released = number, threading.Event()
        self.holding.clear()

    def release_downloads(self) -> None:
        self.hold_at = 0
        self.released.set()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def api_url(self) -> str:
        """The API's base, as GOOGLE_DRIVE_API_URL names it."""
        return self.url() + "drive/v3/"

    def token_url(self) -> str:
        return self.url() + "token"

    def rate_limit(self, path_suffix: str, retry_after: int) -> None:
        self.rate_limited[path_suffix] = retry_after

    # --- serving -----------------------------------------------------------------------------
    def start(self, port: int = 0) -> "DriveLocal":
        drive = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(
                self, status: int, body: bytes, content_type: str, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                drive.hits.append(("GET", parts.path, parts.query))
                self._reply(
                    *drive._get(
                        parts.path, parse_qs(parts.query), self.headers.get("Authorization", "")
                    )
                )

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                drive.hits.append(("POST", parts.path, ""))
                self._reply(*drive._token(form))

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

    def _token(self, form: dict[str, list[str]]) -> tuple[int, bytes, str, dict[str, str]]:
        assertion = (form.get("assertion") or [""])[0]
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            # google-auth names Google's token endpoint as the audience wherever it posts.
            jwt.decode(assertion, self.accounts[issuer], algorithms=["RS256"],
                       audience="https://oauth2.googleapis.com/token")  # fmt: skip
        except (jwt.PyJWTError, KeyError):
            return _json(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        token = "ya29." + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return _json(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _get(
        self, path: str, query: dict[str, list[str]], authorization: str
    ) -> tuple[int, bytes, str, dict[str, str]]:
        if authorization.removeprefix("Bearer ") not in self.tokens:
            return _error(401, "Request had invalid authentication credentials.", "authError")
        for suffix, retry_after in list(self.rate_limited.items()):
            if path.endswith(suffix):
                del self.rate_limited[suffix]
                status, body, kind, _ = _error(429, "Rate limit exceeded.", "rateLimitExceeded")
                return status, body, kind, {"Retry-After": str(retry_after)}

        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        members = re.fullmatch(r"/admin/directory/v1/groups/([^/]+)/members", path)
        if members:
            return self._members(unquote(members[1]), one("includeDerivedMembership") == "true")
        permissions = re.fullmatch(r"/drive/v3/files/([^/]+)/permissions", path)
        if permissions and permissions[1] in self.files:
            rows = self.files[permissions[1]].permission_rows()
            return _json(200, {"kind": "drive#permissionList", "permissions": rows})

        if path == "/drive/v3/files":
            return self._list(one("q"), int(one("pageSize") or 100), int(one("pageToken") or 0))
        if path == "/drive/v3/changes/startPageToken":
            return _json(
                200, {"kind": "drive#startPageToken", "startPageToken": str(len(self.changes))}
            )
        if path == "/drive/v3/changes":
            return self._changes(int(one("pageToken") or 0), int(one("pageSize") or 100))
        matched = re.fullmatch(r"/drive/v3/files/([^/]+)(/export)?", path)
        if not matched or matched[1] not in self.files:
            return _error(404, f"File not found: {matched[1] if matched else path}.", "notFound")
        file = self.files[matched[1]]
        if (
            (matched[2] or one("alt") == "media")
            and self.hold_at
            and self.downloads() == self.hold_at
        ):
            self.holding.set()
            self.released.wait(timeout=300)
        if matched[2]:
            wanted = one("mimeType")
            if wanted not in file.exports:
                return _error(400, "Export only supports Docs Editors files.", "badRequest")
            return 200, file.exports[wanted], wanted, {}
        if one("alt") == "media":
            if file.mime_type.startswith("application/vnd.google-apps."):
                return _error(
                    403,
                    "Only files with binary content can be downloaded. Use Export with Docs "
                    "Editors files.",
                    "fileNotDownloadable",
                )
            return 200, file.content, file.mime_type, {}
        return _json(200, file.metadata(self.port))

    def _members(self, key: str, derived: bool) -> tuple[int, bytes, str, dict[str, str]]:
        if self.directory_refused:
            return _error(403, "Not Authorized to access this resource/api", "forbidden")
        if key not in self.groups:
            return _error(404, "Resource Not Found: groupKey", "notFound")
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()

        def add(group: str) -> None:
            for address in self.groups[group]:
                is_group = address in self.groups
                if is_group and derived and address not in seen:
                    seen.add(address)
                    add(address)
                rows.append({
                    "kind": "admin#directory#member", "email": address, "role": "MEMBER",
                    "type": "GROUP" if is_group else "USER", "status": "ACTIVE",
                })  # fmt: skip

        add(key)
        unique = list({row["email"]: row for row in rows}.values())
        return _json(200, {"kind": "admin#directory#members", "members": unique})

    def _list(self, q: str, size: int, start: int) -> tuple[int, bytes, str, dict[str, str]]:
        chosen = [f for f in self.files.values()]
        parent = re.search(r"'([^']+)' in parents", q)
        if parent:
            chosen = [f for f in chosen if parent[1] in f.parents]
        if "trashed = false" in q or "trashed=false" in q:
            chosen = [f for f in chosen if not f.trashed]
        page = chosen[start : start + size]
        body: dict[str, Any] = {
            "kind": "drive#fileList",
            "files": [f.metadata(self.port) for f in page],
        }
        if start + size < len(chosen):
            body["nextPageToken"] = str(start + size)
        return _json(200, body)

    def _changes(self, start: int, size: int) -> tuple[int, bytes, str, dict[str, str]]:
        page = self.changes[start : start + size]
        changes = []
        for file_id, removed in page:
            change: dict[str, Any] = {
                "kind": "drive#change", "changeType": "file", "fileId": file_id,
                "removed": removed or file_id not in self.files,
            }  # fmt: skip
            if not change["removed"]:
                change["file"] = self.files[file_id].metadata(self.port)
            changes.append(change)
        body: dict[str, Any] = {"kind": "drive#changeList", "changes": changes}
        if start + size < len(self.changes):
            body["nextPageToken"] = str(start + size)
        else:
            body["newStartPageToken"] = str(len(self.changes))
        return _json(200, body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes, str, dict[str, str]]:
    return status, json.dumps(body).encode(), "application/json; charset=UTF-8", {}


def _error(status: int, message: str, reason: str) -> tuple[int, bytes, str, dict[str, str]]:
    detail = {"message": message, "domain": "global", "reason": reason}
    return _json(status, {"error": {"code": status, "message": message, "errors": [detail]}})
