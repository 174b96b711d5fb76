"""SharePoint document libraries and OneDrive through Microsoft Graph: msal for the token,
the Graph SDK (msgraph-sdk) for the drive. The token is the app's own (client credentials: a
tenant, an app registration's client id and secret, the application permission
Files.Read.All or Sites.Read.All granted by an admin), or a person's: they connected the
source by consenting to our multi-tenant app (msal's authorization code flow with PKCE,
the delegated scopes Files.Read.All and Sites.Read.All, offline_access), and the sync
refreshes an access token from their refresh token (msal's acquire_token_by_refresh_token;
Microsoft rotates refresh tokens, and the new one is kept). A refresh token Microsoft no
longer accepts raises SourceReconnect: the source waits for a Reconnect.

The first sync reads the whole drive through a delta query (`/drives/{id}/root/delta`,
following @odata.nextLink) and keeps the @odata.deltaLink's token; each later sync asks
delta for what changed since it. Delta is only offered on a drive's root in SharePoint
and OneDrive for Business, so a folder selection is applied here: an item is in it when
its parent is the folder or a folder inside it (learnt from the folders delta returns, and
for a parent it did not return, from the parent's own path). Items with the `deleted`
facet, or moved out of the folder, are removals; a deleted folder (delta names it alone,
not its files) makes the sync read the whole drive again, and prune. A file whose cTag
(its content's version) is the one synced last is not downloaded again.

Readers: an item's permissions (`/permissions`) as `Readers`: people by email (a user, a
site user, the named users of a sharing link), Entra groups by id (members from
`/groups/{id}/transitiveMembers`), an organization-wide link as the tenant's verified
domains (`/organization`), an anyone link as public. SharePoint site groups ("HR Members")
are named too, but Graph cannot list their members, so they let nobody in (fewer readers
than SharePoint allows, never more). The permission-only sync reads the permissions of the
items whose sharing changed since its cursor (a delta with `Prefer:
deltashowsharingchanges`), or every item's once.

The SDK is asynchronous; a sync runs in a Celery worker's thread, so each call runs its
own event loop and its own HTTP client (`asyncio.run`). Its retry middleware is left out:
a 429's Retry-After is waited out in the queue (RateLimited), never in a worker.

The identity platform's and Graph's addresses come from the settings (MICROSOFT_LOGIN_URL,
MICROSOFT_GRAPH_URL), never from what a customer types."""

import asyncio
import ssl
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import msal
import requests
from django.conf import settings
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware import ParametersNameDecodingHandler, RedirectHandler, UrlReplaceHandler
from kiota_http.middleware.options import UrlReplaceHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.user import User
from msgraph_core import GraphClientFactory

from connectors.sources import (
    BrowsedFolder,
    ConsentGrant,
    ConsentRefused,
    Fetched,
    FolderListing,
    Gone,
    ItemRef,
    ItemUnreadable,
    Listing,
    RateLimited,
    Readers,
    ReadersListing,
    SourceReconnect,
    SourceUnavailable,
    Unchanged,
)
from connectors.sources.guarded_http import retry_after_seconds

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
# What a person consents to; msal adds openid, profile and offline_access (the refresh token).
DELEGATED_SCOPES = ["https://graph.microsoft.com/Files.Read.All",
                    "https://graph.microsoft.com/Sites.Read.All"]  # fmt: skip
# The refresh errors after which only a new consent helps.
RECONNECT_ERRORS = {"invalid_grant", "interaction_required", "consent_required"}
# Delta also returns the items whose sharing changed (their permissions are read again).
DELTA_PREFER = "deltashowsharingchanges"
ENTRA_GROUP, SITE_GROUP = "entra:", "site:"
T = TypeVar("T")
ME_REPLACEMENT = {"/users/me-token-to-replace": "/me"}
# The picker shows at most this many folders of one level, and of followed sites.
BROWSE_LIMIT = 500


def selection_refusal(*, site_url: str, user: str) -> str:
    """Why a selection cannot be synced, or "" when it names one drive."""
    if bool(site_url) == bool(user):
        return "Give either a SharePoint site's address or a OneDrive user's email address."
    if site_url:
        parts = urlsplit(site_url)
        if parts.scheme != "https" or not parts.hostname:
            return "Give the site's address as https://example.sharepoint.com/sites/name."
    return ""


class _Session(requests.Session):
    """A session whose own `verify` holds for every request: requests lets REQUESTS_CA_BUNDLE
    from the environment override a session's (psf/requests#3829), not a request's."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.verify)
        return super().request(*args, **kwargs)


class _MsalTokens(AccessTokenProvider):
    """The app's token for Graph, from msal's cache while it is fresh."""

    def __init__(self, app: msal.ConfidentialClientApplication, graph_host: str) -> None:
        self.app, self.graph_host = app, graph_host

    def token(self) -> str:
        result = self.app.acquire_token_for_client(scopes=GRAPH_SCOPES)
        if "access_token" not in result:
            description = str(result.get("error_description", "")).split("\r\n")[0]
            raise SourceUnavailable(
                "Microsoft refused the app's credentials: "
                f"{description or result.get('error', 'no reason given')}"
            )
        return str(result["access_token"])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self.token()

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([self.graph_host])


class _DelegatedTokens(_MsalTokens):
    """A person's token for Graph, refreshed from their refresh token when it runs out;
    the refresh token Microsoft sends back in its place is handed to `rotated`."""

    def __init__(
        self, app: msal.ConfidentialClientApplication, graph_host: str, refresh_token: str,
        rotated: Callable[[str], None],
    ) -> None:  # fmt: skip
        super().__init__(app, graph_host)
        self.refresh_token, self.rotated = refresh_token, rotated
        self.access_token, self.expires_at = "", 0.0

    def token(self) -> str:
        if self.access_token and time.monotonic() < self.expires_at:
            return self.access_token
        result = self.app.acquire_token_by_refresh_token(
            self.refresh_token, scopes=DELEGATED_SCOPES
        )
        if "access_token" not in result:
            description = str(result.get("error_description", "")).split("\r\n")[0]
            if result.get("error") in RECONNECT_ERRORS:
                raise SourceReconnect(
                    "Microsoft no longer accepts the access given when this source was "
                    f"connected ({description or result['error']}). Reconnect it to sync again."
                )
            raise SourceUnavailable(
                f"Microsoft refused to refresh the access: {description or result.get('error')}"
            )
        renewed = result.get("refresh_token")
        if renewed and renewed != self.refresh_token:
            self.refresh_token = str(renewed)
            self.rotated(self.refresh_token)
        self.access_token = str(result["access_token"])
        # A minute's margin, so that a token never runs out between two requests.
        self.expires_at = time.monotonic() + float(result.get("expires_in", 300)) - 60
        return self.access_token


def consent_configured() -> bool:
    return bool(settings.MICROSOFT_OAUTH_CLIENT_ID and settings.MICROSOFT_OAUTH_CLIENT_SECRET)


def _msal_app(
    tenant_id: str, client_id: str, client_secret: str
) -> msal.ConfidentialClientApplication:
    session = _Session()
    session.verify = settings.MICROSOFT_CA_BUNDLE or True
    try:
        return msal.ConfidentialClientApplication(
            client_id, client_credential=client_secret,
            authority=f"{settings.MICROSOFT_LOGIN_URL.rstrip('/')}/{quote(tenant_id)}",
            # Our authority is Microsoft's (or, offline, the local server): nothing to ask
            # Microsoft's instance discovery about.
            instance_discovery=False, http_client=session,
            timeout=settings.CONNECTOR_HTTP_TIMEOUT_SECONDS,
        )  # fmt: skip
    except ValueError as refusal:
        reason = "the tenant is not known" if "invalid_tenant" in str(refusal) else refusal
        raise SourceUnavailable(
            f"Microsoft did not accept the tenant ID “{tenant_id}” ({reason})."
        ) from None
    except requests.RequestException as error:
        raise SourceUnavailable(
            f"Microsoft's sign-in could not be reached ({type(error).__name__})."
        ) from None


def _web_app(tenant_id: str = "") -> msal.ConfidentialClientApplication:
    """Our multi-tenant app, through the consenting account's tenant (or, before the
    consent, MICROSOFT_OAUTH_TENANT)."""
    return _msal_app(
        tenant_id or settings.MICROSOFT_OAUTH_TENANT, settings.MICROSOFT_OAUTH_CLIENT_ID,
        settings.MICROSOFT_OAUTH_CLIENT_SECRET,
    )  # fmt: skip


def consent_flow(*, redirect_uri: str, state: str) -> dict[str, Any]:
    """msal's authorization code flow (PKCE verifier, nonce, our `state`) to keep in the
    session; its "auth_uri" is Microsoft's consent page. ConsentRefused when Microsoft's
    sign-in cannot be reached."""
    try:
        app = _web_app()
        with warnings.catch_warnings():
            # msal recommends form_post; the answer must arrive as a query, though: the public
            # site forwards it to the organization's site by a redirect, where the session
            # cookie (SameSite=Lax) comes only with a GET. The code is bound to the PKCE
            # verifier in that session, so a code seen in an address is of no use to others.
            warnings.filterwarnings("ignore", message="response_mode='form_post'")
            flow: dict[str, Any] = app.initiate_auth_code_flow(
                DELEGATED_SCOPES, redirect_uri=redirect_uri, state=state,
                prompt="select_account", response_mode="query",
            )  # fmt: skip
    except SourceUnavailable as refusal:
        raise ConsentRefused(str(refusal)) from None
    return flow


def consent_exchange(*, flow: dict[str, Any], response: dict[str, str]) -> ConsentGrant:
    """The code Microsoft sent back (`response`: the callback's query) exchanged for a
    refresh token, checked against the flow by msal (state, PKCE, nonce); ConsentRefused
    with Microsoft's reason otherwise."""
    try:
        result = _web_app().acquire_token_by_auth_code_flow(flow, response)
    except ValueError:
        raise ConsentRefused("Microsoft's answer does not belong to this connection.") from None
    except SourceUnavailable as refusal:
        raise ConsentRefused(str(refusal)) from None
    except requests.RequestException as error:
        raise ConsentRefused(
            f"Microsoft's sign-in could not be reached ({type(error).__name__})."
        ) from None
    if "error" in result:
        description = str(result.get("error_description", "")).split("\r\n")[0]
        raise ConsentRefused(f"Microsoft did not grant access: {description or result['error']}.")
    if not result.get("refresh_token"):
        raise ConsentRefused("Microsoft gave no refresh token; connect again and allow access.")
    claims = result.get("id_token_claims") or {}
    return ConsentGrant(
        credentials={"refresh_token": str(result["refresh_token"]),
                     "tenant_id": str(claims.get("tid", ""))},
        account=str(claims.get("preferred_username", "")).lower(),
    )  # fmt: skip


class MicrosoftDriveSource:
    follows_links = False
    max_items: int | None = None

    def __init__(
        self, *, site_url: str, user: str, folder: str, cursor: str, tenant_id: str = "",
        client_id: str = "", client_secret: str = "", refresh_token: str = "",
        refresh_token_rotated: Callable[[str], None] = lambda token: None,
    ) -> None:  # fmt: skip
        """Read as the app (`tenant_id`, `client_id`, `client_secret`: client credentials)
        or, given `refresh_token`, as the person who consented (in `tenant_id`, theirs)."""
        self.site_url, self.user, self.cursor = site_url, user, cursor
        self.folder = folder.strip("/")
        self.graph_url = settings.MICROSOFT_GRAPH_URL.rstrip("/")
        ca_bundle = settings.MICROSOFT_CA_BUNDLE or True
        graph_host = urlsplit(self.graph_url).hostname or ""
        if refresh_token:
            self.tokens: _MsalTokens = _DelegatedTokens(
                _web_app(tenant_id), graph_host, refresh_token, refresh_token_rotated
            )
        else:
            self.tokens = _MsalTokens(_msal_app(tenant_id, client_id, client_secret), graph_host)
        self.verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_bundle) if isinstance(ca_bundle, str) else True
        )
        self.drive_id = ""
        self.folder_id = ""
        self._domains: frozenset[str] | None = None

    # --- calling Graph -----------------------------------------------------------------------
    def _run(self, call: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
        self.tokens.token()  # a refusal of the credentials says so before any Graph call
        return asyncio.run(self._with_client(call))

    async def _with_client(self, call: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
        client = httpx.AsyncClient(
            base_url=self.graph_url, verify=self.verify,
            timeout=settings.CONNECTOR_HTTP_TIMEOUT_SECONDS,
        )  # fmt: skip
        # Graph's middleware without its retry handler (see the module's docstring); the
        # SDK's /me routes go out as /users/me-token-to-replace, which its own replacement
        # (msgraph.graph_request_adapter's) turns into /me.
        me = UrlReplaceHandlerOption(replacement_pairs=ME_REPLACEMENT)
        http = GraphClientFactory.create_with_custom_middleware(
            middleware=[RedirectHandler(), ParametersNameDecodingHandler(),
                        UrlReplaceHandler(options=me)],
            client=client,
        )  # fmt: skip
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(self.tokens), http)
        adapter.base_url = self.graph_url
        try:
            return await call(GraphServiceClient(request_adapter=adapter))
        except APIError as error:
            if error.response_status_code == 429:
                headers = {k.lower(): v for k, v in (error.response_headers or {}).items()}
                retry_after = headers.get("retry-after")
                raise RateLimited(retry_after_seconds(_first(retry_after))) from None
            raise
        except httpx.HTTPError as error:
            raise SourceUnavailable(
                f"Microsoft Graph could not be reached ({type(error).__name__})."
            ) from None
        finally:
            await http.aclose()

    def _drive(self) -> None:
        """The drive (and folder) the selection names, once per sync."""
        if self.drive_id:
            return

        async def find(graph: GraphServiceClient) -> tuple[str, str]:
            if self.user:
                drive = await _found(graph.users.by_user_id(self.user).drive.get(), self.user)
            else:
                parts = urlsplit(self.site_url)
                path = parts.path.rstrip("/") or "/"
                site = await _found(graph.sites.by_site_id("x").with_url(
                    f"{self.graph_url}/sites/{parts.hostname}:{quote(path)}"
                ).get(), self.site_url)  # fmt: skip
                drive = await graph.sites.by_site_id(site.id).drive.get()
            if not self.folder:
                return drive.id, ""
            folder = await _found(graph.drives.by_drive_id(drive.id).items.by_drive_item_id(
                "root"
            ).with_url(f"{self.graph_url}/drives/{drive.id}/root:/{quote(self.folder)}").get(),
                f"the folder “{self.folder}”")  # fmt: skip
            if folder.folder is None:
                raise SourceUnavailable(f"“{self.folder}” is a file, not a folder.")
            return drive.id, folder.id

        try:
            self.drive_id, self.folder_id = self._run(find)
        except APIError as error:
            raise SourceUnavailable(f"Microsoft Graph answered: {error}") from None

    # --- listing -----------------------------------------------------------------------------
    def listing(self) -> Listing:
        self._drive()
        try:
            if self.cursor:
                try:
                    return self._delta(self.cursor)
                except APIError as error:
                    if error.response_status_code != 410:
                        raise
                    # The token is too old: read everything again; what is gone is pruned.
            return self._delta("")
        except APIError as error:
            raise SourceUnavailable(f"Microsoft Graph answered: {error}") from None

    def _delta(self, token: str) -> Listing:
        start = f"{self.graph_url}/drives/{quote(self.drive_id)}/root/delta"
        if token:
            start += f"?token={quote(token)}"

        async def pages(graph: GraphServiceClient) -> list[Any]:
            delta = graph.drives.by_drive_id(self.drive_id).items.by_drive_item_id("root").delta
            found: list[Any] = []
            url = start
            while True:
                page = await delta.with_url(url).get(request_configuration=_prefer())
                found += page.value or []
                if page.odata_next_link:
                    url = page.odata_next_link
                    continue
                found.append(page.odata_delta_link or "")
                return found

        *items, delta_link = self._run(pages)
        if token and any(item.deleted is not None and item.folder is not None for item in items):
            # Delta names a deleted folder alone, not the files it took with it: read the
            # whole drive again, and what is gone is pruned.
            return self._delta("")
        cursor = _first(parse_qs(urlsplit(delta_link).query).get("token"))
        if len(cursor) > 500:  # Connector.cursor's size: the next sync then reads all again
            cursor = ""
        in_scope = self._scope(items)
        files = [item for item in items if item.file is not None and item.deleted is None]
        changed = [_ref(item) for item in files if in_scope(item)]
        if not token:
            return Listing(items=changed, complete=True, cursor=cursor)
        removed = [
            item.id for item in items if item.deleted is not None or not in_scope(item)
        ]  # fmt: skip
        return Listing(items=changed, complete=True, delta=True, removed=removed, cursor=cursor)

    def _scope(self, items: list[Any]) -> Callable[[Any], bool]:
        """Whether an item is inside the selected folder (always, without one)."""
        if not self.folder_id:
            return lambda item: True
        inside = {self.folder_id}
        outside: set[str] = set()
        parent_of = {
            item.id: item.parent_reference.id if item.parent_reference else ""
            for item in items
            if item.folder is not None and item.deleted is None
        }

        def folder_inside(folder_id: str) -> bool:
            chain = []
            while folder_id and folder_id not in inside and folder_id not in outside:
                chain.append(folder_id)
                if folder_id in parent_of:
                    folder_id = parent_of[folder_id]
                    continue
                folder_id = "" if self._path_outside(folder_id) else self.folder_id
            verdict = folder_id in inside
            (inside if verdict else outside).update(chain)
            return verdict

        return lambda item: (
            bool(item.parent_reference) and folder_inside(item.parent_reference.id or "")
        )

    def _path_outside(self, folder_id: str) -> bool:
        """A folder delta did not return (nothing in it changed): asked for its path."""

        async def get(graph: GraphServiceClient) -> Any:
            items = graph.drives.by_drive_id(self.drive_id).items
            return await items.by_drive_item_id(folder_id).get()

        try:
            folder = self._run(get)
        except APIError as error:
            if error.response_status_code == 404:
                return True
            raise
        path = (folder.parent_reference.path or "") if folder.parent_reference else ""
        own = path.split("root:", 1)[-1].strip("/") + "/" + (folder.name or "")
        return not (own.strip("/") + "/").startswith(self.folder + "/")

    # --- fetching ----------------------------------------------------------------------------
    def fetch(self, item: ItemRef, *, etag: str, last_modified: str) -> Fetched | Unchanged | Gone:
        self._drive()

        async def read(graph: GraphServiceClient) -> Fetched | Unchanged | Gone:
            # One client (one connection) for the item's metadata, readers and bytes.
            request = graph.drives.by_drive_id(self.drive_id).items.by_drive_item_id(item.source_id)
            found = await request.get()
            if found is None or found.deleted is not None or found.file is None:
                return Gone("It was deleted in SharePoint or OneDrive.")
            if self.folder and not self._path_inside(found):
                return Gone("It was moved out of the folder.")
            readers = await self._item_readers(graph, item.source_id)
            if etag and etag == found.c_tag:
                return Unchanged(readers=readers)
            name = found.name or item.source_id
            return Fetched(
                data=await request.content.get() or b"",
                filename=name,
                title=name.rsplit(".", 1)[0] if "." in name else name,
                url=found.web_url or item.url,
                etag=found.c_tag or "",
                readers=readers,
            )

        try:
            return self._run(read)
        except APIError as error:
            if error.response_status_code == 404:
                return Gone("It is no longer in SharePoint or OneDrive (or no longer readable).")
            raise ItemUnreadable(f"Microsoft Graph answered: {error}") from None

    # --- permissions -------------------------------------------------------------------------
    async def _item_readers(self, graph: GraphServiceClient, item_id: str) -> Readers:
        page = (
            await graph.drives.by_drive_id(self.drive_id)
            .items.by_drive_item_id(item_id)
            .permissions.get()
        )
        grants = list(page.value or []) if page else []
        if any(grant.link and grant.link.scope == "organization" for grant in grants):
            domains = await self._organization_domains(graph)
        else:
            domains = frozenset()
        return _readers(grants, domains)

    async def _organization_domains(self, graph: GraphServiceClient) -> frozenset[str]:
        """The tenant's verified domains, for links to anyone in the organization; none when
        the app may not read them (Organization.Read.All): such a link then adds nobody."""
        if self._domains is None:
            try:
                page = await graph.organization.get()
            except APIError:
                page = None
            self._domains = frozenset(
                domain.name.lower()
                for organization in (page.value if page and page.value else [])
                for domain in organization.verified_domains or []
                if domain.name
            )
        return self._domains

    def readers(self, items: Sequence[ItemRef], *, cursor: str) -> ReadersListing:
        """The readers of `items`: of those whose sharing changed since `cursor`, or of all."""
        self._drive()
        wanted = {item.source_id for item in items}
        base = f"{self.graph_url}/drives/{quote(self.drive_id)}/root/delta"

        async def changes(graph: GraphServiceClient) -> tuple[set[str] | None, str]:
            delta = graph.drives.by_drive_id(self.drive_id).items.by_drive_item_id("root").delta
            changed: set[str] = set()
            url = f"{base}?token={quote(cursor or 'latest')}"
            while True:
                try:
                    page = await delta.with_url(url).get(request_configuration=_prefer())
                except APIError as error:
                    if error.response_status_code != 410:
                        raise
                    return await changes_from_latest(graph)
                changed |= {item.id for item in page.value or []}
                if page.odata_next_link:
                    url = page.odata_next_link
                    continue
                token = _first(parse_qs(urlsplit(page.odata_delta_link or "").query).get("token"))
                return (changed if cursor else None), token

        async def changes_from_latest(graph: GraphServiceClient) -> tuple[set[str] | None, str]:
            delta = graph.drives.by_drive_id(self.drive_id).items.by_drive_item_id("root").delta
            page = await delta.with_url(f"{base}?token=latest").get()
            link = page.odata_delta_link if page else ""
            return None, _first(parse_qs(urlsplit(link or "").query).get("token"))

        async def read(graph: GraphServiceClient) -> ReadersListing:
            changed, token = await changes(graph)
            found: dict[str, Readers] = {}
            for item_id in sorted(wanted if changed is None else wanted & changed):
                try:
                    found[item_id] = await self._item_readers(graph, item_id)
                except APIError as error:
                    if error.response_status_code != 404:
                        raise
            return ReadersListing(readers=found, cursor=token if len(token) <= 500 else "")

        try:
            return self._run(read)
        except APIError as error:
            raise SourceUnavailable(f"Microsoft Graph answered: {error}") from None

    def group_members(self, group: str) -> list[str] | None:
        """An Entra group's (a security or Microsoft 365 group granted through
        `grantedToV2.group`) people, nested groups' included (transitiveMembers), by address;
        None for a SharePoint site group (`grantedToV2.siteGroup`: Graph has no route to its
        members, so it lets nobody in) or a group Graph will not describe (the app lacks
        GroupMember.Read.All: a 403)."""
        if not group.startswith(ENTRA_GROUP):
            return None
        group_id = group.removeprefix(ENTRA_GROUP)

        async def members(graph: GraphServiceClient) -> list[str]:
            request = graph.groups.by_group_id(group_id).transitive_members
            page = await request.get()
            found: list[str] = []
            while page is not None:
                for member in page.value or []:
                    # People only: a nested group is listed too (its members with it), and
                    # its address is no person's.
                    if not isinstance(member, User):
                        continue
                    address = member.mail or member.user_principal_name
                    if address:
                        found.append(str(address).lower())
                if not page.odata_next_link:
                    break
                page = await request.with_url(page.odata_next_link).get()
            return found

        try:
            return self._run(members)
        except APIError:
            return None

    def _path_inside(self, item: Any) -> bool:
        path = (item.parent_reference.path or "") if item.parent_reference else ""
        folder = path.split("root:", 1)[-1].strip("/")
        return (folder + "/").startswith(self.folder + "/")


def consent_folders(
    *, credentials: dict[str, str], account: str, site: str = "", item: str = "",
    search: str = "", refresh_token_rotated: Callable[[str], None] = lambda token: None,
) -> FolderListing:  # fmt: skip
    """What the person whose consent gave `credentials` may pick, for the page that picks
    what to sync: at the top (no `site`), their OneDrive and the SharePoint sites they
    follow, or with `search` the sites whose names match it (Graph's `/sites?search=`);
    in a drive (`site`: "me" for their OneDrive, else a site's id; `item`: a folder's
    id, or its root), its folders. SourceReconnect when Microsoft no longer accepts the
    grant, RateLimited under throttling, SourceUnavailable otherwise (a sentence)."""
    source = MicrosoftDriveSource(
        site_url="", user=account, folder="", cursor="",
        tenant_id=credentials.get("tenant_id", ""),
        refresh_token=credentials.get("refresh_token", ""),
        refresh_token_rotated=refresh_token_rotated,
    )  # fmt: skip

    async def top(graph: GraphServiceClient) -> FolderListing:
        folders = [BrowsedFolder(name=f"Your OneDrive ({account})" if account else "Your OneDrive",
                                 open={"site": "me"}, choice={"user": account})]  # fmt: skip
        request = graph.me.followed_sites
        if search:
            request = graph.sites.with_url(f"{source.graph_url}/sites?search={quote(search)}")
        try:
            page = await request.get()
        except APIError as error:
            if error.response_status_code not in (403, 404):
                raise
            page = None  # no SharePoint for this account (403, 404): their OneDrive alone
        while page is not None and len(folders) <= BROWSE_LIMIT:
            folders += [
                BrowsedFolder(name=f"{followed.display_name or followed.name} (SharePoint)",
                              open={"site": followed.id}, choice={"site_url": followed.web_url})
                for followed in page.value or []
                if followed.id and followed.web_url
            ]  # fmt: skip
            if not page.odata_next_link:
                break
            page = await request.with_url(page.odata_next_link).get()
        if search:
            folders = folders[1:]  # the sites found, not the OneDrive
        return FolderListing(here=f"Sites matching “{search}”" if search else "",
                             up={} if search else None, choice=None,
                             folders=folders[:BROWSE_LIMIT],
                             truncated=len(folders) > BROWSE_LIMIT)  # fmt: skip

    async def level(graph: GraphServiceClient) -> FolderListing:
        if site == "me":
            drive = await graph.me.drive.get()
            owner, name = {"user": account}, "Your OneDrive"
        else:
            found = await _found(graph.sites.by_site_id(site).get(), "that site")
            drive = await graph.sites.by_site_id(site).drive.get()
            owner = {"site_url": found.web_url or ""}
            name = found.display_name or found.name or "SharePoint"
        items = graph.drives.by_drive_id(drive.id).items
        here = await _found(items.by_drive_item_id(item or "root").get(), "that folder")
        if here.folder is None:
            raise SourceUnavailable(f"“{here.name}” is a file, not a folder.")
        path = _item_path(here)
        folders: list[BrowsedFolder] = []
        request = items.by_drive_item_id(here.id).children
        page = await request.get()
        more = False
        while page is not None:
            # Graph cannot filter a drive's children by their folder facet: read and keep.
            for child in page.value or []:
                if child.folder is not None and child.deleted is None and child.id:
                    folder = f"{path}/{child.name}".strip("/")
                    folders.append(BrowsedFolder(
                        name=child.name or child.id, open={"site": site, "item": child.id},
                        choice={**owner, "folder": folder},
                    ))  # fmt: skip
            more = bool(page.odata_next_link)
            if not more or len(folders) >= BROWSE_LIMIT:
                break
            page = await request.with_url(page.odata_next_link).get()
        at_root = here.root is not None or not here.parent_reference
        up_item = here.parent_reference.id if here.parent_reference else ""
        return FolderListing(
            here=name + (f" / {path}" if path else ""),
            up={} if at_root else {"site": site, "item": up_item or ""},
            choice={**owner, "folder": path},
            folders=sorted(folders, key=lambda found: found.name.lower())[:BROWSE_LIMIT],
            truncated=more,
        )  # fmt: skip

    try:
        return source._run(level if site else top)
    except APIError as error:
        raise SourceUnavailable(f"Microsoft Graph answered: {error}") from None


def _item_path(item: Any) -> str:
    """A drive item's path from its drive's root ("" for the root)."""
    if item.root is not None or not item.parent_reference:
        return ""
    parent = (item.parent_reference.path or "").split("root:", 1)[-1].strip("/")
    return f"{parent}/{item.name}".strip("/")


async def _found(request: Awaitable[T], what: str) -> T:
    """The answer, or a sentence naming what Graph does not find."""
    try:
        return await request
    except APIError as error:
        if error.response_status_code in (400, 404):
            raise SourceUnavailable(
                f"Microsoft Graph does not find {what}; check the address and that the app "
                "may read it."
            ) from None
        raise


def _prefer() -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("Prefer", DELTA_PREFER)
    return config


def _readers(grants: list[Any], organization_domains: frozenset[str]) -> Readers:
    """Graph's permissions on an item as its readers (every role reads)."""
    emails: set[str] = set()
    groups: set[str] = set()
    domains: set[str] = set()
    for grant in grants:
        if grant.link is not None and grant.link.scope == "anonymous":
            return Readers(public=True)
        if grant.link is not None and grant.link.scope == "organization":
            domains |= organization_domains
        for identities in [grant.granted_to_v2, *(grant.granted_to_identities_v2 or [])]:
            if identities is None:
                continue
            for person in (identities.user, identities.site_user):
                address = _email(person)
                if address:
                    emails.add(address)
            if identities.group is not None and identities.group.id:
                groups.add(ENTRA_GROUP + identities.group.id.lower())
            if identities.site_group is not None and identities.site_group.id:
                groups.add(SITE_GROUP + identities.site_group.id.lower())
    return Readers(emails=frozenset(emails), groups=frozenset(groups), domains=frozenset(domains))


def _email(identity: Any) -> str:
    if identity is None:
        return ""
    address = getattr(identity, "email", None) or (identity.additional_data or {}).get("email")
    return str(address or "").strip().lower()


def _ref(item: Any) -> ItemRef:
    return ItemRef(source_id=item.id, url=item.web_url or "")


def _first(values: Any) -> str:
    if isinstance(values, list):
        return str(values[0]) if values else ""
    return str(values or "")
