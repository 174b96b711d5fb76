"""A local server that speaks the parts of the Microsoft identity platform and Microsoft
Graph that the SharePoint / OneDrive source uses, so msal and the Graph SDK (msgraph-sdk)
read it in the tests and offline development as they read Microsoft's.

It serves HTTPS only (msal accepts no other authority), with a certificate of its own made
at start (`ca_file`: the file a client trusts it through, MICROSOFT_CA_BUNDLE).

Identity platform (an authority is this server's address followed by a tenant id):
- GET /{tenant}/v2.0/.well-known/openid-configuration: the tenant's OpenID configuration
  (400 `invalid_tenant` for a tenant it does not know, as login.microsoftonline.com says).
- POST /{tenant}/oauth2/v2.0/token: the client credentials grant; a wrong client id or
  secret is 400/401 with Microsoft's AADSTS sentences.
- A person's consent to a multi-tenant app (`web_app(redirect_uris)`: its client id and
  secret; `person(email)`: a work account and its tenant): GET
  /{tenant}/oauth2/v2.0/authorize (client_id, redirect_uri, response_type=code, scope,
  state, nonce, code_challenge S256) is a page where `consent_account` clicks "Accept" (or
  "Cancel": back with error=access_denied and AADSTS65004). The token endpoint then
  exchanges the code (once, same redirect_uri, the PKCE code_verifier, the client's secret)
  for an access token, an ID token (tid, preferred_username, the nonce) and a refresh
  token; grant_type=refresh_token gives a new access token and a new refresh token (the
  old one stays valid, as Microsoft's do) until `revoke(email)`: then 400 invalid_grant
  AADSTS50173. "organizations" and "common" are tenants too, as at Microsoft.

Graph, under /v1.0/ (an access token required, else 401 InvalidAuthenticationToken):
- GET sites/{hostname}:/{path} (a site by its address), sites/{id}/drive (its document
  library), users/{id or email}/drive (a OneDrive), drives/{id}/root:/{path} (an item by
  its path), drives/{id}/items/{id} (an item), drives/{id}/items/{id}/content (a 302 to a
  pre-authenticated download address, as Graph answers).
- For a person's token (their consent): GET me/drive (their OneDrive), me/drive/...
  (as drives/{its id}/...) and me/followedSites (the sites `follow()` made them follow,
  paged), sites?search= (the sites whose name holds the words, paged). GET
  drives/{id}/items/{id}/children: a folder's files and folders (with
  parentReference.path), `page_size` a page with @odata.nextLink.
- GET drives/{id}/root/delta (and items/root/delta): every current item, or with `token`
  what changed since it (deleted items with the `deleted` facet; a sharing change counts,
  as with `Prefer: deltashowsharingchanges`), `page_size` items a page with
  @odata.nextLink, the last page with @odata.deltaLink; `token=latest` gives only a
  deltaLink for now. A token older than `expire_tokens()` is 410 resyncRequired.
- GET drives/{id}/items/{id}/permissions (an item's own, or else its drive's: `share()`
  grants a user, an Entra group, a SharePoint site group, or a sharing link scoped to
  anyone, the organization or named users), groups/{id}/transitiveMembers (`groups`: users,
  nested groups flattened and listed themselves, devices; `members_page_size` a page with
  @odata.nextLink; 403 for a group in `groups_refused`) and organization (the tenant's
  verified domains, `domains`). SharePoint site groups have no members route: Graph has none.
- `rate_limit(path_suffix, retry_after)` answers the next matching Graph request with 429
  and Retry-After. Every request is recorded in `hits` (method, path, query).
"""

import base64
import datetime as dt
import hashlib
import html
import ipaddress
import itertools
import json
import secrets
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
LATEST = "latest"  # the delta token that asks for a deltaLink only
Reply = tuple[int, bytes, str, dict[str, str]]


class AppRegistration(TypedDict):
    tenant_id: str
    client_id: str
    client_secret: str


@dataclass
class GraphItem:
    id: str
    name: str
    parent_id: str
    content: bytes = b""
    mime_type: str = "application/octet-stream"
    is_folder: bool = False
    version: int = 1
    deleted: bool = False
    modified: str = ""
    # Its own permissions (Graph's permission resources); None: its drive's, inherited.
    permissions: list[dict[str, Any]] | None = None


@dataclass
class GraphDrive:
    id: str
    web_url: str
    drive_type: str
    items: dict[str, GraphItem] = field(default_factory=dict)
    # Item ids in the order they changed; a delta token is an index into it.
    changes: list[str] = field(default_factory=list)
    oldest_token: int = 0
    # What every item without permissions of its own inherits (the site's).
    permissions: list[dict[str, Any]] = field(default_factory=list)

    def path_of(self, item: GraphItem) -> str:
        """The item's folder as Graph's parentReference.path says it."""
        names: list[str] = []
        parent = self.items.get(item.parent_id)
        while parent is not None and parent.parent_id:
            names.insert(0, parent.name)
            parent = self.items.get(parent.parent_id)
        return f"/drives/{self.id}/root:" + "".join(f"/{name}" for name in names)

    def alive(self, item: GraphItem) -> bool:
        """Not deleted, nor inside a deleted folder (a folder's deletion takes its content
        to the recycle bin; delta names the folder alone)."""
        while item is not None:
            if item.deleted:
                return False
            item = self.items.get(item.parent_id)  # type: ignore[assignment]
        return True

    def full_path(self, item: GraphItem) -> str:
        return (self.path_of(item).split("root:", 1)[1] + "/" + item.name).lstrip("/")


@dataclass
class GraphLocal:
    # tenant id -> client id -> client secret
    apps: dict[str, dict[str, str]] = field(default_factory=dict)
    drives: dict[str, GraphDrive] = field(default_factory=dict)
    sites: dict[str, dict[str, str]] = field(default_factory=dict)  # "host:/path" -> site
    users: dict[str, str] = field(default_factory=dict)  # email or id -> drive id
    # Entra group id -> its members: users' addresses, "group:<id>" for a nested group
    # (whose members are the group's too), "device:<name>" for a device; the groups whose
    # members the app may not read (no GroupMember.Read.All: 403); the tenant's verified
    # domains.
    groups: dict[str, list[str]] = field(default_factory=dict)
    groups_refused: set[str] = field(default_factory=set)
    members_page_size: int = 100
    domains: list[str] = field(default_factory=lambda: ["example.com"])
    tokens: set[str] = field(default_factory=set)
    rate_limited: dict[str, int] = field(default_factory=dict)
    hits: list[tuple[str, str, str]] = field(default_factory=list)
    page_size: int = 200
    # A person's consent: multi-tenant apps (client id -> secret and redirect URIs), work
    # accounts (email -> tenant id), the account that clicks "Accept", codes not yet
    # exchanged, refresh tokens (-> client, account, scope) and those issued, in order.
    web_apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    consent_account: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens_issued: list[str] = field(default_factory=list)
    # A delegated access token's account (for /me), and the sites each account follows.
    token_accounts: dict[str, str] = field(default_factory=dict)
    followed: dict[str, list[str]] = field(default_factory=dict)
    port: int = 0
    ca_file: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the directory -----------------------------------------------------------------------
    def app(self, tenant_id: str = "", client_id: str = "") -> AppRegistration:
        """An app registration with a client secret, as the Entra admin centre issues one."""
        tenant_id = tenant_id or _guid()
        client_id = client_id or _guid()
        secret = secrets.token_urlsafe(30)
        self.apps.setdefault(tenant_id, {})[client_id] = secret
        return AppRegistration(tenant_id=tenant_id, client_id=client_id, client_secret=secret)

    def web_app(
        self, redirect_uris: list[str], client_id: str = "", secret: str = ""
    ) -> tuple[str, str]:
        """A multi-tenant app registration for people's consent (its client id and a
        client secret's value, made up unless given), with the web redirect URIs it may be
        sent back to."""
        client_id = client_id or _guid()
        secret = secret or secrets.token_urlsafe(30)
        self.web_apps[client_id] = {"secret": secret, "redirect_uris": list(redirect_uris)}
        return client_id, secret

    def person(self, email: str, tenant_id: str = "") -> str:
        """A work account in a tenant (its id); the first one made is who consents."""
        self.people[email.lower()] = tenant_id or self.people.get(email.lower()) or _guid()
        self.consent_account = self.consent_account or email.lower()
        return self.people[email.lower()]

    def revoke(self, email: str) -> None:
        """The account's consent is withdrawn (or its password reset): its refresh tokens
        stop working."""
        for token, grant in list(self.refresh_tokens.items()):
            if grant["account"] == email.lower():
                del self.refresh_tokens[token]

    def site(self, hostname: str, path: str, name: str) -> GraphDrive:
        """A SharePoint site (https://hostname/path) and its document library."""
        site_id = f"{hostname},{_guid()},{_guid()}"
        drive = self._drive(f"https://{hostname}{path}/Shared%20Documents", "documentLibrary")
        self.sites[f"{hostname}:{path}"] = {"id": site_id, "name": name, "drive": drive.id}
        self.sites[site_id] = self.sites[f"{hostname}:{path}"]
        return drive

    def follow(self, email: str, drive: GraphDrive) -> None:
        """The account follows the site whose library `drive` is (SharePoint's star)."""
        site_id = next(site["id"] for site in self.sites.values() if site["drive"] == drive.id)
        self.followed.setdefault(email.lower(), []).append(site_id)

    def onedrive(self, email: str) -> GraphDrive:
        """A user's OneDrive for Business: as in Microsoft's, its owner holds the owner role
        on every item (inherited until an item is shared otherwise)."""
        drive = self._drive(f"https://example-my.sharepoint.com/personal/{email}", "business")
        drive.permissions = [{"id": "aTowIy5mfG1lbWJlcnNoaXA", "roles": ["owner"],
                              "grantedToV2": {"user": {"id": _guid(),
                                                       "displayName": email.split("@")[0],
                                                       "email": email}}}]  # fmt: skip
        self.users[email.lower()] = drive.id
        return drive

    def _drive(self, web_url: str, drive_type: str) -> GraphDrive:
        drive = GraphDrive(id="b!" + secrets.token_urlsafe(48), web_url=web_url,
                           drive_type=drive_type)  # fmt: skip
        root = GraphItem(id="01ROOT" + secrets.token_hex(8).upper(), name="root", parent_id="",
                         is_folder=True, modified=_now())  # fmt: skip
        drive.items[root.id] = root
        drive.changes.append(root.id)
        self.drives[drive.id] = drive
        return drive

    # --- a drive's content -------------------------------------------------------------------
    @staticmethod
    def root(drive: GraphDrive) -> GraphItem:
        return next(item for item in drive.items.values() if not item.parent_id)

    def add(
        self, drive: GraphDrive, name: str, content: bytes = b"", *,
        parent: GraphItem | None = None, mime_type: str = "text/plain",
    ) -> GraphItem:  # fmt: skip
        item = GraphItem(
            id=f"01{next(self._ids):06d}" + secrets.token_hex(5).upper(), name=name,
            parent_id=(parent or self.root(drive)).id, content=content, mime_type=mime_type,
            modified=_now(),
        )  # fmt: skip
        with self._lock:
            drive.items[item.id] = item
            drive.changes.append(item.id)
        return item

    def folder(self, drive: GraphDrive, name: str, parent: GraphItem | None = None) -> GraphItem:
        item = self.add(drive, name, parent=parent)
        item.is_folder = True
        return item

    def edit(self, drive: GraphDrive, item_id: str, content: bytes) -> None:
        item = drive.items[item_id]
        with self._lock:
            item.content, item.version, item.modified = content, item.version + 1, _now()
            drive.changes.append(item_id)

    def delete(self, drive: GraphDrive, item_id: str) -> None:
        with self._lock:
            drive.items[item_id].deleted = True
            drive.changes.append(item_id)

    def share(self, drive: GraphDrive, item_id: str, kind: str, who: str = "", *,
              role: str = "read") -> None:  # fmt: skip
        """Grant `who` (an email for "user", a group id for "group", a name for
        "site_group", emails for the "users" link) or a link ("anyone", "organization") on
        the item, breaking its inheritance as SharePoint does. A sharing change."""
        item = drive.items[item_id]
        if item.permissions is None:
            item.permissions = [dict(grant) for grant in drive.permissions]
        grant: dict[str, Any] = {"id": secrets.token_urlsafe(12), "roles": [role]}
        if kind == "user":
            grant["grantedToV2"] = {"user": {"id": _guid(), "displayName": who.split("@")[0],
                                             "email": who}}  # fmt: skip
        elif kind == "group":
            grant["grantedToV2"] = {"group": {"id": who, "displayName": f"Group {who[:8]}"}}
        elif kind == "site_group":
            site_group = {"id": str(len(item.permissions) + 3), "displayName": who,
                          "loginName": who}  # fmt: skip
            grant["grantedToV2"] = {"siteGroup": site_group}
        elif kind in ("anyone", "organization", "users"):
            scope = "anonymous" if kind == "anyone" else kind
            link = f"{self.url()}/:w:/s/{secrets.token_urlsafe(8)}"
            grant["link"] = {"scope": scope, "type": "view", "webUrl": link}
            if kind == "users":
                grant["grantedToIdentitiesV2"] = [
                    {"user": {"id": _guid(), "email": email}} for email in who.split(",")
                ]
        else:
            raise ValueError(kind)
        with self._lock:
            item.permissions.append(grant)
            drive.changes.append(item_id)

    def unshare(self, drive: GraphDrive, item_id: str, who: str) -> None:
        """Remove the grants naming `who` (an email or a group id) from the item."""
        item = drive.items[item_id]
        if item.permissions is None:
            item.permissions = [dict(grant) for grant in drive.permissions]
        with self._lock:
            item.permissions = [grant for grant in item.permissions if who not in json.dumps(grant)]
            drive.changes.append(item_id)

    def expire_tokens(self, drive: GraphDrive) -> None:
        """Delta tokens issued so far are too old: Graph asks for a resync (410)."""
        drive.oldest_token = len(drive.changes)

    def downloads(self) -> int:
        return sum(1 for method, path, query in self.hits if path.startswith("/download/"))

    def rate_limit(self, path_suffix: str, retry_after: int) -> None:
        self.rate_limited[path_suffix] = retry_after

    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def login_url(self) -> str:
        """The identity platform's address, as MICROSOFT_LOGIN_URL names it."""
        return self.url()

    def graph_url(self) -> str:
        """Graph's base, as MICROSOFT_GRAPH_URL names it."""
        return self.url() + "/v1.0"

    # --- serving -----------------------------------------------------------------------------
    def start(self, port: int = 0, ca_out: str = "") -> "GraphLocal":
        """Serve on `port` (any free one by default); `ca_out`: where to copy the
        certificate clients must trust (MICROSOFT_CA_BUNDLE)."""
        graph = self
        self._certificate()
        if ca_out:
            Path(ca_out).write_bytes(Path(self.ca_file).read_bytes())
            self.ca_file = ca_out

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: bytes, kind: str, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                graph.hits.append(("GET", parts.path, parts.query))
                auth = self.headers.get("Authorization", "")
                self._reply(*graph._get(parts.path, parse_qs(parts.query), auth))

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                graph.hits.append(("POST", parts.path, ""))
                if parts.path.endswith("/oauth2/v2.0/authorize"):
                    self._reply(*graph._authorize(parts.path, parse_qs(parts.query), form))
                    return
                self._reply(*graph._token(parts.path, form))

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert_file, self._key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _certificate(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local Graph-format server")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            ]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        folder = Path(tempfile.mkdtemp(prefix="graph-local-"))
        self._cert_file, self._key_file = str(folder / "cert.pem"), str(folder / "key.pem")
        Path(self._cert_file).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        Path(self._key_file).write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))  # fmt: skip
        self.ca_file = self._cert_file

    # --- the identity platform ---------------------------------------------------------------
    def _openid_configuration(self, tenant: str) -> Reply:
        known = set(self.apps) | set(self.people.values()) | {"organizations", "common"}
        if tenant not in known:
            return _json(400, {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found. Check to "
                "make sure you have the correct tenant ID and are signing into the correct "
                "cloud.",
            })  # fmt: skip
        base = f"{self.url()}/{tenant}"
        return _json(200, {
            "issuer": f"{self.url()}/{tenant}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        })  # fmt: skip

    def _authorize(
        self, path: str, query: dict[str, list[str]], form: dict[str, list[str]] | None
    ) -> Reply:
        """The consent page (GET), and the person's answer to it (POST: decision)."""

        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        app = self.web_apps.get(one("client_id"))
        if app is None:
            return _html(400, "AADSTS700016: Application with identifier "
                         f"'{one('client_id')}' was not found in the directory.")  # fmt: skip
        if one("redirect_uri") not in app["redirect_uris"]:
            return _html(400, "AADSTS50011: The redirect URI specified in the request does "
                         "not match the redirect URIs configured for the application.")  # fmt: skip
        if one("response_type") != "code" or one("code_challenge_method") not in ("", "S256"):
            return _html(400, "AADSTS900144: The request must contain 'response_type' "
                         "(code), with S256 code challenges.")  # fmt: skip
        account = self.consent_account
        if form is None:
            action = html.escape(path + "?" + urlencode({k: v[0] for k, v in query.items()}))
            scopes = "".join(f"<li>{html.escape(s)}</li>" for s in one("scope").split())
            page = (
                "<!doctype html><html><head><title>Permissions requested</title></head><body>"
                '<h1>Permissions requested</h1><p>Signed in as <strong data-testid="account">'
                f"{html.escape(account)}</strong>. This app would like to:</p><ul>{scopes}</ul>"
                f'<form method="post" action="{action}">'
                '<button type="submit" name="decision" value="deny">Cancel</button> '
                '<button type="submit" name="decision" value="allow">Accept</button>'
                "</form></body></html>"
            )
            return 200, page.encode(), "text/html; charset=utf-8", {}
        back: dict[str, str] = {"state": one("state")} if one("state") else {}
        if (form.get("decision") or [""])[0] != "allow" or account not in self.people:
            back["error"] = "access_denied"
            back["error_description"] = "AADSTS65004: User declined to consent to access the app."
        else:
            code = "0.A" + secrets.token_urlsafe(60)
            self.codes[code] = {
                "client_id": one("client_id"), "redirect_uri": one("redirect_uri"),
                "scope": one("scope"), "challenge": one("code_challenge"),
                "nonce": one("nonce"), "account": account,
            }  # fmt: skip
            back.update(code=code, session_state=_guid())
        separator = "&" if "?" in one("redirect_uri") else "?"
        location = one("redirect_uri") + separator + urlencode(back)
        return 302, b"", "text/plain", {"Location": location}

    def _delegated_tokens(self, client_id: str, account: str, scope: str, nonce: str) -> Reply:
        tenant = self.people[account]
        object_id = _guid()
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "iss": f"{self.url()}/{tenant}/v2.0", "aud": client_id, "sub": object_id,
            "oid": object_id, "tid": tenant, "preferred_username": account,
            "name": account.split("@")[0], "iat": now, "nbf": now, "exp": now + 3600,
        }  # fmt: skip
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")
        client_info = base64.urlsafe_b64encode(
            json.dumps({"uid": object_id, "utid": tenant}).encode()
        ).decode().rstrip("=")  # fmt: skip
        access = "eyJ0eXAiOiJKV1QiLCJub25jZSI6" + secrets.token_urlsafe(32)
        refresh = "1.A" + secrets.token_urlsafe(80)
        granted = " ".join(
            s for s in scope.split() if s not in ("openid", "profile", "offline_access")
        )
        with self._lock:
            self.tokens.add(access)
            self.token_accounts[access] = account
            self.refresh_tokens[refresh] = {"client_id": client_id, "account": account,
                                            "scope": scope}  # fmt: skip
            self.refresh_tokens_issued.append(refresh)
        return _json(200, {
            "token_type": "Bearer", "scope": granted, "expires_in": 3599,
            "ext_expires_in": 3599, "access_token": access, "refresh_token": refresh,
            "id_token": id_token, "client_info": client_info,
        })  # fmt: skip

    def _token_delegated(self, form: dict[str, list[str]]) -> Reply:
        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        app = self.web_apps.get(one("client_id"))
        if app is None:
            return _json(400, {"error": "unauthorized_client",
                               "error_description": "AADSTS700016: Application with "
                               f"identifier '{one('client_id')}' was not found."})  # fmt: skip
        if not secrets.compare_digest(app["secret"], one("client_secret")):
            return _json(401, {"error": "invalid_client",
                               "error_description": "AADSTS7000215: Invalid client secret "
                               "provided."})  # fmt: skip
        if one("grant_type") == "refresh_token":
            grant = self.refresh_tokens.get(one("refresh_token"))
            if grant is None or grant["client_id"] != one("client_id"):
                return _json(400, {"error": "invalid_grant",
                                   "error_description": "AADSTS50173: The provided grant has "
                                   "expired due to it being revoked, a fresh auth token is "
                                   "needed. The user might have changed or reset their "
                                   "password."})  # fmt: skip
            return self._delegated_tokens(one("client_id"), grant["account"], grant["scope"], "")
        code = self.codes.pop(one("code"), None)  # a code is used once
        if code is None or code["client_id"] != one("client_id"):
            return _json(400, {"error": "invalid_grant",
                               "error_description": "AADSTS70008: The provided authorization "
                               "code or refresh token has expired due to inactivity."})  # fmt: skip
        if code["redirect_uri"] != one("redirect_uri"):
            return _json(400, {"error": "invalid_grant",
                               "error_description": "AADSTS70000: The request was denied "
                               "because the redirect URI does not match."})  # fmt: skip
        if code["challenge"]:
            digest = hashlib.sha256(one("code_verifier").encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not secrets.compare_digest(expected, code["challenge"]):
                return _json(400, {"error": "invalid_grant",
                                   "error_description": "AADSTS501481: The Code_Verifier "
                                   "does not match the code_challenge supplied in the "
                                   "authorization request."})  # fmt: skip
        return self._delegated_tokens(
            one("client_id"), code["account"], code["scope"], code["nonce"]
        )

    def _token(self, path: str, form: dict[str, list[str]]) -> Reply:
        tenant = path.strip("/").split("/")[0]

        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        if one("grant_type") in ("authorization_code", "refresh_token"):
            return self._token_delegated(form)
        if one("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type",
                               "error_description": "AADSTS70003: The app requested an "
                               "unsupported grant type."})  # fmt: skip
        clients = self.apps.get(tenant, {})
        if one("client_id") not in clients:
            return _json(400, {"error": "unauthorized_client",
                               "error_description": f"AADSTS700016: Application with "
                               f"identifier '{one('client_id')}' was not found in the "
                               f"directory '{tenant}'."})  # fmt: skip
        if clients[one("client_id")] != one("client_secret"):
            return _json(401, {"error": "invalid_client",
                               "error_description": "AADSTS7000215: Invalid client secret "
                               "provided. Ensure the secret being sent in the request is the "
                               "client secret value, not the client secret ID."})  # fmt: skip
        if one("scope") != GRAPH_SCOPE:
            return _json(400, {"error": "invalid_scope",
                               "error_description": "AADSTS1002012: The provided value for "
                               "scope is not valid."})  # fmt: skip
        token = "eyJ0eXAiOiJKV1QiLCJub25jZSI6" + secrets.token_urlsafe(32)
        self.tokens.add(token)
        return _json(200, {"token_type": "Bearer", "expires_in": 3599,
                           "ext_expires_in": 3599, "access_token": token})  # fmt: skip

    # --- Graph -------------------------------------------------------------------------------
    def _get(self, path: str, query: dict[str, list[str]], authorization: str) -> Reply:
        if path.endswith("/oauth2/v2.0/authorize"):
            return self._authorize(path, query, None)
        if path.endswith("/.well-known/openid-configuration"):
            return self._openid_configuration(path.strip("/").split("/")[0])
        if path.startswith("/download/"):
            return self._download(path, query)
        if not path.startswith("/v1.0/"):
            return _error(404, "itemNotFound", "The resource could not be found.")
        if authorization.removeprefix("Bearer ") not in self.tokens:
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        for suffix, retry_after in list(self.rate_limited.items()):
            if path.endswith(suffix):
                del self.rate_limited[suffix]
                status, body, kind, _ = _error(
                    429, "TooManyRequests", "Too many requests, retry after some time."
                )
                return status, body, kind, {"Retry-After": str(retry_after)}
        route = unquote(path.removeprefix("/v1.0/"))

        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        if route == "organization":
            return _json(200, {"value": [{"id": _guid(), "displayName": "Example Corp",
                                          "verifiedDomains": [{"name": name, "isDefault": i == 0}
                                          for i, name in enumerate(self.domains)]}]})  # fmt: skip
        me = self.token_accounts.get(authorization.removeprefix("Bearer "), "")
        if route == "me/followedSites":
            return self._followed_sites(me, one("$skiptoken"))
        if route.startswith("me/"):
            if not me:
                return _error(400, "BadRequest", "/me request is only valid with delegated "
                              "authentication flow.")  # fmt: skip
            route = f"users/{me}/" + route.removeprefix("me/")
        if route.startswith("users/") and "/drive/" in route:
            owned = self.users.get(route.split("/")[1].lower()) or ""
            route = f"drives/{owned}/" + route.split("/drive/", 1)[1]
        if route.startswith("groups/") and route.endswith("/transitiveMembers"):
            return self._transitive_members(route.split("/")[1], one("$skiptoken"))
        if route == "sites":  # a search: the sites whose name holds the words
            words = one("search").lower()
            matches = [self._site_json(site) for key, site in self.sites.items()
                       if ":" in key and words and words in site["name"].lower()]  # fmt: skip
            return self._paged(f"{self.graph_url()}/sites?search={quote(words)}", matches,
                               one("$skiptoken"))  # fmt: skip
        if route.startswith("sites/"):
            return self._site(route.removeprefix("sites/"))
        if route.startswith("users/") and route.endswith("/drive"):
            drive_id = self.users.get(route.split("/")[1].lower())
            if drive_id is None:
                return _error(404, "itemNotFound", "The resource could not be found.")
            return _json(200, self._drive_json(self.drives[drive_id]))
        parts = route.split("/")
        if len(parts) < 3 or parts[0] != "drives" or parts[1] not in self.drives:
            return _error(404, "itemNotFound", "The resource could not be found.")
        drive, rest = self.drives[parts[1]], "/".join(parts[2:])
        if rest in ("root/delta", "items/root/delta"):
            return self._delta(drive, one("token"), one("$skiptoken"))
        if rest.startswith("root:"):
            wanted = rest.removeprefix("root:").strip("/").removesuffix(":").strip("/")
            for item in drive.items.values():
                if not item.deleted and item.parent_id and drive.full_path(item) == wanted:
                    return _json(200, self._item_json(drive, item, with_path=True))
            return _error(404, "itemNotFound", "The resource could not be found.")
        item_id = parts[3] if len(parts) > 3 and parts[2] == "items" else ""
        if item_id == "root":
            item_id = self.root(drive).id
        found = drive.items.get(item_id)
        if found is None or not drive.alive(found):
            return _error(404, "itemNotFound", "The resource could not be found.")
        item = found
        if parts[4:] == ["content"]:
            if item.is_folder:
                return _error(400, "invalidRequest", "Folders have no content.")
            location = (
                f"{self.url()}/download/{quote(drive.id)}/{item.id}"
                f"?tempauth={secrets.token_urlsafe(16)}"
            )
            return 302, b"", "text/plain", {"Location": location}
        if parts[4:] == ["children"]:
            return self._children(drive, item, one("$skiptoken"))
        if parts[4:] == ["permissions"]:
            grants = item.permissions if item.permissions is not None else drive.permissions
            return _json(200, {"value": grants})
        if parts[4:]:
            return _error(400, "BadRequest", f"Resource not found for the segment '{parts[4]}'.")
        return _json(200, self._item_json(drive, item, with_path=True))

    def _site(self, ref: str) -> Reply:
        if ref.endswith("/drive"):
            site = self.sites.get(ref.removesuffix("/drive").removesuffix(":"))
            if site is None:
                return _error(404, "itemNotFound", "Requested site could not be found")
            return _json(200, self._drive_json(self.drives[site["drive"]]))
        site = self.sites.get(ref.removesuffix(":"))
        if site is None:
            return _error(404, "itemNotFound", "Requested site could not be found")
        return _json(200, self._site_json(site))

    def _site_json(self, site: dict[str, str]) -> dict[str, Any]:
        hostname = site["id"].split(",")[0]
        path = next(key for key, value in self.sites.items() if value is site and ":" in key)
        return {"id": site["id"], "displayName": site["name"], "name": site["name"],
                "webUrl": f"https://{hostname}{path.split(':', 1)[1]}"}  # fmt: skip

    def _followed_sites(self, account: str, skip: str) -> Reply:
        if not account:
            return _error(400, "BadRequest", "/me request is only valid with delegated "
                          "authentication flow.")  # fmt: skip
        sites = [self._site_json(self.sites[site_id]) for site_id in self.followed.get(account, [])]
        return self._paged(f"{self.graph_url()}/me/followedSites", sites, skip)

    def _children(self, drive: GraphDrive, folder: GraphItem, skip: str) -> Reply:
        """A folder's children (files and folders), `page_size` a page with @odata.nextLink."""
        children = [
            self._item_json(drive, item, with_path=True)
            for item in drive.items.values()
            if item.parent_id == folder.id and drive.alive(item)
        ]
        base = f"{self.graph_url()}/drives/{quote(drive.id)}/items/{folder.id}/children"
        return self._paged(base, children, skip)

    def _paged(self, base: str, rows: list[dict[str, Any]], skip: str) -> Reply:
        offset = int(skip or 0)
        body: dict[str, Any] = {"value": rows[offset : offset + self.page_size]}
        if offset + self.page_size < len(rows):
            separator = "&" if "?" in base else "?"
            body["@odata.nextLink"] = f"{base}{separator}$skiptoken={offset + self.page_size}"
        return _json(200, body)

    def _drive_json(self, drive: GraphDrive) -> dict[str, Any]:
        return {"id": drive.id, "driveType": drive.drive_type, "name": "Documents",
                "webUrl": drive.web_url}  # fmt: skip

    def _item_json(self, drive: GraphDrive, item: GraphItem, *, with_path: bool) -> dict[str, Any]:
        reference: dict[str, Any] = {"driveId": drive.id, "driveType": drive.drive_type}
        if item.parent_id:
            reference["id"] = item.parent_id
            # Graph leaves the path out of delta's answers: items are tracked by id there.
            if with_path:
                reference["path"] = drive.path_of(item)
        data: dict[str, Any] = {
            "id": item.id, "name": item.name, "parentReference": reference,
            "eTag": f'"{{{item.id}}},{item.version}"', "cTag": f'"c:{{{item.id}}},{item.version}"',
            "lastModifiedDateTime": item.modified, "createdDateTime": item.modified,
            "size": len(item.content),
        }  # fmt: skip
        if item.deleted:
            return {"id": item.id, "parentReference": reference, "deleted": {"state": "deleted"},
                    **({"folder": {}} if item.is_folder else {"file": {}})}  # fmt: skip
        web = (
            drive.web_url + "/" + quote(drive.full_path(item)) if item.parent_id else drive.web_url
        )
        data["webUrl"] = web
        if not item.parent_id:
            data["root"] = {}
        if item.is_folder:
            count = sum(1 for i in drive.items.values() if i.parent_id == item.id and not i.deleted)
            data["folder"] = {"childCount": count}
        else:
            data["file"] = {"mimeType": item.mime_type, "hashes": {}}
        return data

    def _delta(self, drive: GraphDrive, token: str, skip: str) -> Reply:
        with self._lock:
            if token == LATEST:
                link = f"{self.graph_url()}/drives/{quote(drive.id)}/root/delta"
                link += f"?token={len(drive.changes)}"
                return _json(200, {"value": [], "@odata.deltaLink": link})
            if skip:
                since, offset = (int(part) for part in skip.split("."))
            else:
                since, offset = (int(token) if token else -1), 0
            if since != -1 and since < drive.oldest_token:
                return _error(410, "resyncRequired", "Resync required. Replace any local "
                              "items with the server's version (including deletes) if you're "
                              "sure that the service was up to date with your local changes "
                              "when you last sync'd. Upload any local changes that the server "
                              "doesn't know about.")  # fmt: skip
            if since == -1:
                changed = [item for item in drive.items.values() if drive.alive(item)]
            else:
                ids = list(dict.fromkeys(reversed(drive.changes[since:])))[::-1]
                changed = [drive.items[item_id] for item_id in ids]
            page = changed[offset : offset + self.page_size]
            base = f"{self.graph_url()}/drives/{quote(drive.id)}/root/delta"
            body: dict[str, Any] = {
                "@odata.context": f"{self.graph_url()}/$metadata#Collection(driveItem)",
                "value": [self._item_json(drive, item, with_path=False) for item in page],
            }
            if offset + self.page_size < len(changed):
                body["@odata.nextLink"] = f"{base}?$skiptoken={since}.{offset + self.page_size}"
            else:
                body["@odata.deltaLink"] = f"{base}?token={len(drive.changes)}"
            return _json(200, body)

    def _transitive_members(self, group_id: str, skip: str) -> Reply:
        """A group's members, nested groups' included, as Graph lists them: every user and
        every nested group (and device) once, `members_page_size` a page."""
        if group_id in self.groups_refused:
            return _error(403, "Authorization_RequestDenied",
                          "Insufficient privileges to complete the operation.")  # fmt: skip
        if group_id not in self.groups:
            return _error(404, "Request_ResourceNotFound",
                          f"Resource '{group_id}' does not exist.")  # fmt: skip
        found: dict[str, dict[str, Any]] = {}
        pending, seen = [group_id], set()
        while pending:
            current = pending.pop(0)
            seen.add(current)
            for member in self.groups.get(current, []):
                if member.startswith("group:"):
                    nested = member.removeprefix("group:")
                    found[member] = {"@odata.type": "#microsoft.graph.group", "id": nested,
                                     "displayName": f"Group {nested[:8]}",
                                     "mail": f"{nested[:8]}@groups.example"}  # fmt: skip
                    if nested not in seen:
                        pending.append(nested)
                elif member.startswith("device:"):
                    found[member] = {"@odata.type": "#microsoft.graph.device", "id": _guid(),
                                     "displayName": member.removeprefix("device:")}  # fmt: skip
                else:
                    found[member.lower()] = {
                        "@odata.type": "#microsoft.graph.user", "id": _guid(), "mail": member,
                        "userPrincipalName": member,
                    }  # fmt: skip
        members, offset = list(found.values()), int(skip or 0)
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_url()}/$metadata#directoryObjects",
            "value": members[offset : offset + self.members_page_size],
        }
        if offset + self.members_page_size < len(members):
            body["@odata.nextLink"] = (
                f"{self.graph_url()}/groups/{group_id}/transitiveMembers"
                f"?$skiptoken={offset + self.members_page_size}"
            )
        return _json(200, body)

    def _download(self, path: str, query: dict[str, list[str]]) -> Reply:
        _, _, drive_id, item_id = path.split("/", 3)
        drive = self.drives.get(unquote(drive_id))
        item = drive.items.get(item_id) if drive else None
        if item is None or item.deleted or not query.get("tempauth"):
            return _error(404, "itemNotFound", "The resource could not be found.")
        return 200, item.content, item.mime_type, {}


def _guid() -> str:
    hex_digits = secrets.token_hex(16)
    return "-".join(
        (hex_digits[:8], hex_digits[8:12], hex_digits[12:16], hex_digits[16:20], hex_digits[20:])
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json(status: int, body: dict[str, Any]) -> Reply:
    return status, json.dumps(body).encode(), "application/json; charset=utf-8", {}


def _html(status: int, message: str) -> Reply:
    page = (
        "<!doctype html><title>Sign in</title>"
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f"<p>{html.escape(message)}</p>"
    )
    return status, page.encode(), "text/html; charset=utf-8", {}


def _error(status: int, code: str, message: str) -> Reply:
    return _json(status, {"error": {"code": code, "message": message, "innerError": {
        "date": _now(), "request-id": _guid(), "client-request-id": _guid()}}})  # fmt: skip
