"""A local server that speaks the parts of Google Drive API v3 the Drive source uses, so
google-api-python-client (with google-auth's service-account credentials) reads it in the
tests and offline development as it reads Google's.

- POST /token: OAuth 2.0's JWT bearer grant (RFC 7523), as a service account asks for an
  access token: the assertion's signature is checked against the registered account's
  public key; the answer is {"access_token", "expires_in", "token_type"}.
- A person's consent, as Google's OAuth 2 for web server applications: an OAuth client
  (`oauth_client(redirect_uris)`, its id and secret) sends the browser to GET /o/oauth2/auth
  (client_id, redirect_uri, response_type=code, scope, state, access_type, prompt,
  code_challenge and code_challenge_method S256): a page where `consent_account` clicks
  "Allow" (or "Cancel": back with error=access_denied). POST /token then exchanges the
  code (once, with the same redirect_uri and the PKCE code_verifier; the client
  authenticated by HTTP Basic or in the body) for an access token and, with
  access_type=offline, a refresh token; grant_type=refresh_token gives a new access token
  until `revoke(account)`, after which it is 400 invalid_grant "Token has been expired or
  revoked.", as Google says. GET /drive/v3/about names the token's account.
- Under /drive/v3/ (an access token required, else 401 in Google's error shape):
  files.list (`q` with `'<id>' in parents` (`'root'`: the files in no folder, My Drive's
  top), `mimeType = '...'` (or `!=`) and `trashed = false`, pageSize, pageToken,
  orderBy=name),
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
- GET /file/d/<id>/view, a file's webViewLink: a page naming the file (and showing it, when
  it is text), standing in for Drive's own page of it, where "Open it at its source" leads.
"""

import base64
import hashlib
import html
import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

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
    # A person's consent: OAuth clients (id -> secret and redirect URIs), the account that
    # clicks "Allow", codes not yet exchanged, refresh tokens (-> client and account), and
    # each access token's account.
    oauth_clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    consent_account: str = "owner@example.com"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    token_accounts: dict[str, str] = field(default_factory=dict)
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

    def oauth_client(
        self, redirect_uris: list[str], client_id: str = "", secret: str = ""
    ) -> tuple[str, str]:
        """A "Web application" OAuth client (its id and secret, made up unless given), as the
        Google Cloud console makes one, with the redirect URIs it may send the browser back
        to."""
        client_id = client_id or (
            f"{secrets.randbelow(10**12):012d}-{secrets.token_hex(16)}.apps.googleusercontent.com"
        )
        secret = secret or "GOCSPX-" + secrets.token_urlsafe(21)
        self.oauth_clients[client_id] = {"secret": secret, "redirect_uris": list(redirect_uris)}
        return client_id, secret

    def revoke(self, account: str) -> None:
        """The account withdraws our access (Google Account -> Third-party access): its
        refresh and access tokens stop working."""
        for token, grant in list(self.refresh_tokens.items()):
            if grant["account"] == account:
                del self.refresh_tokens[token]
        for token, owner in list(self.token_accounts.items()):
            if owner == account:
                self.tokens.discard(token)
                del self.token_accounts[token]

    def authorize_url(self) -> str:
        """Google's consent page, as GOOGLE_OAUTH_AUTHORIZE_URL names it."""
        return self.url() + "o/oauth2/auth"

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
                if parts.path == "/o/oauth2/auth":
                    self._reply(*drive._authorize(parse_qs(parts.query), None))
                    return
                viewed = re.fullmatch(r"/file/d/([^/]+)/view", parts.path)
                if viewed:
                    self._reply(*drive._view(viewed[1]))
                    return
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
                if parts.path == "/o/oauth2/auth":
                    self._reply(*drive._authorize(parse_qs(parts.query), form))
                    return
                self._reply(*drive._token(form, self.headers.get("Authorization", "")))

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

    # --- a person's consent ------------------------------------------------------------------
    def _authorize(
        self, query: dict[str, list[str]], form: dict[str, list[str]] | None
    ) -> tuple[int, bytes, str, dict[str, str]]:
        """The consent page (GET), and the person's answer to it (POST: decision)."""

        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        client = self.oauth_clients.get(one("client_id"))
        if client is None:
            return _page(401, "Error 401: invalid_client", "The OAuth client was not found.")
        if one("redirect_uri") not in client["redirect_uris"]:
            return _page(
                400,
                "Error 400: redirect_uri_mismatch",
                "You can't sign in to this app because it doesn't comply with Google's OAuth "
                f"2.0 policy. redirect_uri={one('redirect_uri')}",
            )
        if one("response_type") != "code" or one("code_challenge_method") not in ("", "S256"):
            return _page(400, "Error 400: invalid_request", "Unsupported response type or "
                         "code challenge method.")  # fmt: skip
        if form is None:
            action = html.escape("/o/oauth2/auth?" + urlencode({k: v[0] for k, v in query.items()}))
            scopes = "".join(f"<li>{html.escape(s)}</li>" for s in one("scope").split())
            account = html.escape(self.consent_account)
            body = (
                "<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body>"
                f"<h1>Sign in with Google</h1><p>The app wants to access your Google Account "
                f'<strong data-testid="account">{account}</strong>. It will be able to:</p>'
                f'<ul>{scopes}</ul><form method="post" action="{action}">'
                f'<input type="hidden" name="login" value="{account}">'
                '<button type="submit" name="decision" value="deny">Cancel</button> '
                '<button type="submit" name="decision" value="allow">Allow</button>'
                "</form></body></html>"
            )
            return 200, body.encode(), "text/html; charset=utf-8", {}
        back: dict[str, str] = {"state": one("state")} if one("state") else {}
        if (form.get("decision") or [""])[0] != "allow":
            back["error"] = "access_denied"
        else:
            code = "4/0A" + secrets.token_urlsafe(40)
            self.codes[code] = {
                "client_id": one("client_id"), "redirect_uri": one("redirect_uri"),
                "scope": one("scope"), "challenge": one("code_challenge"),
                "offline": str(one("access_type") == "offline"),
                "account": (form.get("login") or [self.consent_account])[0],
            }  # fmt: skip
            back.update(code=code, scope=one("scope"))
        separator = "&" if "?" in one("redirect_uri") else "?"
        return (
            302,
            b"",
            "text/plain",
            {"Location": one("redirect_uri") + separator + urlencode(back)},
        )

    def _view(self, file_id: str) -> tuple[int, bytes, str, dict[str, str]]:
        """A file's page in Drive (its webViewLink), as the browser of someone it is shared
        with sees it: its name, and its text when it is text."""
        file = self.files.get(file_id)
        if file is None or file.trashed or file.mime_type == FOLDER:
            return _page(404, "Google Drive - File not found",
                         "Sorry, the file you have requested does not exist.")  # fmt: skip
        name = html.escape(file.name)
        shown = ""
        if file.mime_type.startswith("text/") or file.name.endswith((".md", ".txt", ".csv")):
            shown = f"<pre>{html.escape(file.content.decode(errors='replace'))}</pre>"
        body = (
            f"<!doctype html><html><head><title>{name} - Google Drive</title></head><body>"
            f'<h1 data-testid="file-name">{name}</h1><p>{html.escape(file.mime_type)} · '
            f"version {file.version} · modified {html.escape(file.modified)}</p>{shown}"
            "</body></html>"
        )
        return 200, body.encode(), "text/html; charset=utf-8", {}

    def _client_authenticated(self, form: dict[str, list[str]], authorization: str) -> str:
        """The OAuth client's id when its secret is right (HTTP Basic or in the body)."""
        client_id = (form.get("client_id") or [""])[0]
        secret = (form.get("client_secret") or [""])[0]
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _, secret = (unquote(part) for part in decoded.partition(":"))
        client = self.oauth_clients.get(client_id)
        if client is None or not secrets.compare_digest(client["secret"], secret):
            return ""
        return client_id

    def _access_token(self, account: str) -> str:
        token = "ya29." + secrets.token_urlsafe(24)
        self.tokens.add(token)
        self.token_accounts[token] = account
        return token

    def _token_consented(
        self, form: dict[str, list[str]], authorization: str
    ) -> tuple[int, bytes, str, dict[str, str]]:
        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        client_id = self._client_authenticated(form, authorization)
        if not client_id:
            return _json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        if one("grant_type") == "refresh_token":
            grant = self.refresh_tokens.get(one("refresh_token"))
            if grant is None or grant["client_id"] != client_id:
                revoked = "Token has been expired or revoked."
                return _json(400, {"error": "invalid_grant", "error_description": revoked})
            return _json(200, {
                "access_token": self._access_token(grant["account"]), "expires_in": 3599,
                "scope": grant["scope"], "token_type": "Bearer",
            })  # fmt: skip
        code = self.codes.pop(one("code"), None)  # a code is used once
        if code is None or code["client_id"] != client_id:
            return _json(
                400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
            )
        if code["redirect_uri"] != one("redirect_uri"):
            return _json(
                400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
            )
        if code["challenge"]:
            verifier = one("code_verifier")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not verifier:
                return _json(400, {"error": "invalid_grant",
                                   "error_description": "Missing code verifier."})  # fmt: skip
            if not secrets.compare_digest(expected, code["challenge"]):
                return _json(400, {"error": "invalid_grant",
                                   "error_description": "Invalid code verifier."})  # fmt: skip
        body: dict[str, Any] = {
            "access_token": self._access_token(code["account"]), "expires_in": 3599,
            "scope": code["scope"], "token_type": "Bearer",
        }  # fmt: skip
        if code["offline"] == "True":
            refresh = "1//0" + secrets.token_urlsafe(60)
            self.refresh_tokens[refresh] = {
                "client_id": client_id,
                "account": code["account"],
                "scope": code["scope"],
            }
            body["refresh_token"] = refresh
        return _json(200, body)

    def _token(
        self, form: dict[str, list[str]], authorization: str = ""
    ) -> tuple[int, bytes, str, dict[str, str]]:
        if (form.get("grant_type") or [""])[0] in ("authorization_code", "refresh_token"):
            return self._token_consented(form, authorization)
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

        if path == "/drive/v3/about":
            account = self.token_accounts.get(authorization.removeprefix("Bearer "), "")
            return _json(200, {"kind": "drive#about", "user": {
                "kind": "drive#user", "emailAddress": account, "displayName": account.split("@")[0],
            }})  # fmt: skip
        members = re.fullmatch(r"/admin/directory/v1/groups/([^/]+)/members", path)
        if members:
            return self._members(unquote(members[1]), one("includeDerivedMembership") == "true")
        permissions = re.fullmatch(r"/drive/v3/files/([^/]+)/permissions", path)
        if permissions and permissions[1] in self.files:
            rows = self.files[permissions[1]].permission_rows()
            return _json(200, {"kind": "drive#permissionList", "permissions": rows})

        if path == "/drive/v3/files":
            return self._list(one("q"), int(one("pageSize") or 100), int(one("pageToken") or 0),
                              one("orderBy"))  # fmt: skip
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

    def _list(
        self, q: str, size: int, start: int, order: str = ""
    ) -> tuple[int, bytes, str, dict[str, str]]:
        chosen = [f for f in self.files.values()]
        parent = re.search(r"'([^']+)' in parents", q)
        if parent and parent[1] == "root":  # My Drive's top: the files in no folder here
            chosen = [f for f in chosen if not f.parents or "root" in f.parents]
        elif parent:
            chosen = [f for f in chosen if parent[1] in f.parents]
        mime_type = re.search(r"mimeType\s*(!?=)\s*'([^']+)'", q)
        if mime_type:
            equal = mime_type[1] == "="
            chosen = [f for f in chosen if (f.mime_type == mime_type[2]) == equal]
        if order == "name":
            chosen.sort(key=lambda f: f.name)
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


def _page(status: int, title: str, text: str) -> tuple[int, bytes, str, dict[str, str]]:
    body = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
    return status, (body + f"<p>{html.escape(text)}</p>").encode(), "text/html; charset=utf-8", {}


def _error(status: int, message: str, reason: str) -> tuple[int, bytes, str, dict[str, str]]:
    detail = {"message": message, "domain": "global", "reason": reason}
    return _json(status, {"error": {"code": status, "message": message, "errors": [detail]}})
