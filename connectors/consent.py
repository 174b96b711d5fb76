"""Connecting Google Drive or SharePoint / OneDrive by a person's consent: OAuth 2's
authorization code flow with PKCE, across our two kinds of host (as the Slack install in
integrations/install_flow.py does).

The provider sends the browser back to one redirect URI registered with our app, on the
public site (/sources/oauth/callback/); the consent was begun, and must be finished, on the
organization's site, where the owner or admin is signed in. So the state is signed (ten
minutes, SOURCE_CONSENT_MAX_AGE_SECONDS) and names the organization, the user, the
workspace and the provider, with a nonce that only the session that began it holds (with
the PKCE verifier, or msal's flow): the public callback only forwards to the organization's
site, which finishes the consent for the same session and user, once (the nonce is used up:
a replayed state is refused).

The grant (a refresh token) is then sealed (connectors.credentials) and kept in the session
until the person picks what to sync and the connector is added; a reconnect replaces the
credentials of its connector at once. Nothing is stored when the consent fails."""

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from accounts.secrets_at_rest import SecretUnreadable
from connectors.credentials import credentials_open_text, credentials_seal
from connectors.models import Connector, SourceKind
from connectors.sources import (
    ConsentGrant,
    ConsentRefused,
    FolderListing,
    RateLimited,
    SourceReconnect,
    SourceUnavailable,
    google_drive,
    microsoft,
)
from workspaces.models import Workspace

STATE_SALT = "connectors.consent"
PENDING_KEY = "source_consent"
GRANT_KEY = "source_consent_grant"
PROVIDERS = {"google": SourceKind.GOOGLE_DRIVE, "microsoft": SourceKind.MICROSOFT}
PROVIDER_NAMES = {"google": "Google Drive", "microsoft": "SharePoint / OneDrive"}


class ConsentStateInvalid(Exception):
    """Forged, stale, replayed, or not begun by this session and user."""


@dataclass(frozen=True)
class Pending:
    """A consent this session began, claimed by the provider's answer."""

    provider: str
    workspace_slug: str
    connector_id: int | None
    secret: Any  # the PKCE verifier (Google) or msal's flow (Microsoft)


@dataclass(frozen=True)
class KeptGrant:
    """A consent's grant waiting in the session for the person to pick what to sync."""

    provider: str
    credentials: dict[str, str]
    account: str


def providers_configured() -> dict[str, bool]:
    return {
        "google": google_drive.consent_configured(),
        "microsoft": microsoft.consent_configured(),
    }


def public_site_root(request: HttpRequest, organization_slug: str) -> str:
    """The public site's scheme and host, from an organization's request
    (acme.example.com:8000 -> example.com:8000)."""
    return f"{request.scheme}://{request.get_host().removeprefix(f'{organization_slug}.')}"


def organization_site_root(request: HttpRequest, organization_slug: str) -> str:
    """An organization's scheme and host, from a request to the public site."""
    return f"{request.scheme}://{organization_slug}.{request.get_host()}"


def redirect_uri(public_root: str) -> str:
    """The one address both providers send the browser back to (registered with them)."""
    # The public site's URL conf: this runs on an organization's site, whose conf lacks it.
    path = reverse("connectors_public:consent_callback", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return public_root + path


def consent_begin(
    *,
    request: HttpRequest,
    organization_slug: str,
    user: User,
    workspace: Workspace,
    provider: str,
    connector: Connector | None = None,
) -> str:
    """Where to send the browser to consent (the provider's page). ConsentRefused when the
    provider cannot be asked now."""
    nonce = secrets.token_urlsafe(24)
    state = signing.dumps(
        {"org": organization_slug, "nonce": nonce, "user": user.pk, "workspace": workspace.pk,
         "provider": provider},
        salt=STATE_SALT,
    )  # fmt: skip
    back = redirect_uri(public_site_root(request, organization_slug))
    secret: Any
    if provider == "google":
        url, secret = google_drive.consent_url(redirect_uri=back, state=state)
    else:
        secret = microsoft.consent_flow(redirect_uri=back, state=state)
        url = secret["auth_uri"]
    request.session[PENDING_KEY] = {
        "nonce": nonce, "provider": provider, "user": user.pk, "workspace": workspace.pk,
        "workspace_slug": workspace.slug, "connector": connector.pk if connector else None,
        "secret": secret,
    }  # fmt: skip
    return str(url)


def _state_load(state: str) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = signing.loads(
            state, salt=STATE_SALT, max_age=settings.SOURCE_CONSENT_MAX_AGE_SECONDS
        )
    except signing.BadSignature as error:
        raise ConsentStateInvalid from error
    return payload


def state_organization(state: str) -> str:
    """The organization a state was made for; ConsentStateInvalid if forged or stale."""
    return str(_state_load(state).get("org", ""))


def consent_claim(
    *, request: HttpRequest, state: str, organization_slug: str, user: User
) -> Pending:
    """The consent this session began for `user` that `state` belongs to; the nonce is used
    up whatever the outcome. ConsentStateInvalid for another session's, user's or
    organization's, a forged, stale or replayed state."""
    started = request.session.pop(PENDING_KEY, None)
    payload = _state_load(state)
    if (
        started is None
        or payload.get("org") != organization_slug
        or payload.get("user") != user.pk
        or started.get("user") != user.pk
        or payload.get("workspace") != started.get("workspace")
        or payload.get("provider") != started.get("provider")
        or started.get("provider") not in PROVIDERS
        or not secrets.compare_digest(str(payload.get("nonce")), str(started.get("nonce")))
    ):
        raise ConsentStateInvalid
    return Pending(
        provider=str(started["provider"]), workspace_slug=str(started["workspace_slug"]),
        connector_id=started.get("connector"), secret=started["secret"],
    )  # fmt: skip


def consent_exchange(
    *, request: HttpRequest, pending: Pending, organization_slug: str
) -> ConsentGrant:
    """The provider's code exchanged for a refresh token (through its library, with the
    PKCE verifier); ConsentRefused with the provider's reason."""
    if pending.provider == "google":
        return google_drive.consent_exchange(
            redirect_uri=redirect_uri(public_site_root(request, organization_slug)),
            code=request.GET.get("code", ""), code_verifier=str(pending.secret),
        )  # fmt: skip
    response = {key: request.GET[key] for key in request.GET}
    return microsoft.consent_exchange(flow=pending.secret, response=response)


def grant_keep(*, request: HttpRequest, pending: Pending, grant: ConsentGrant) -> None:
    """Keep the grant, sealed, for the page where the person picks what to sync."""
    request.session[GRANT_KEY] = {
        "provider": pending.provider, "workspace_slug": pending.workspace_slug,
        "user": request.user.pk, "sealed": credentials_seal(grant.credentials),
        "account": grant.account,
    }  # fmt: skip


def grant_kept(*, request: HttpRequest, provider: str, workspace: Workspace) -> KeptGrant | None:
    """The grant kept for this provider and workspace by this session's user, if any."""
    kept = request.session.get(GRANT_KEY)
    if (
        not kept
        or kept.get("provider") != provider
        or kept.get("workspace_slug") != workspace.slug
        or kept.get("user") != request.user.pk
    ):
        return None
    try:
        credentials = credentials_open_text(kept["sealed"])
    except SecretUnreadable:
        return None  # sealed under a key since rotated away: the person consents again
    return KeptGrant(
        provider=provider, credentials=credentials, account=str(kept.get("account", ""))
    )


class BrowseRefused(Exception):
    """The provider would not list the account's folders now; the sentence says why and
    `reconnect` whether only a new consent helps."""

    def __init__(self, message: str, *, reconnect: bool = False) -> None:
        super().__init__(message)
        self.reconnect = reconnect


def grant_folders(*, request: HttpRequest, kept: KeptGrant, query: dict[str, str]) -> FolderListing:
    """The folders the consented account sees at `query` (the picker's place: nothing for
    the top; Google's `folder`, Microsoft's `site` and `item`, or `search` for sites), read
    with an access token refreshed from the kept grant (never shown to the page).
    BrowseRefused with a sentence when the provider refuses, is busy or cannot be reached."""
    name = PROVIDER_NAMES[kept.provider]
    try:
        if kept.provider == "google":
            return google_drive.consent_folders(
                refresh_token=kept.credentials.get("refresh_token", ""),
                folder=query.get("folder", ""),
            )  # fmt: skip
        return microsoft.consent_folders(
            credentials=kept.credentials, account=kept.account, site=query.get("site", ""),
            item=query.get("item", ""), search=query.get("search", "").strip(),
            refresh_token_rotated=lambda token: _grant_rotate(request, kept, token),
        )  # fmt: skip
    except SourceReconnect:
        raise BrowseRefused(
            f"{name} no longer accepts the access you gave (it was withdrawn or has expired). "
            "Connect again to pick what to sync.", reconnect=True,
        ) from None  # fmt: skip
    except RateLimited as limited:
        wait = f" in {int(limited.retry_after)} seconds" if limited.retry_after else " shortly"
        raise BrowseRefused(
            f"{name} is asking for fewer requests just now; try again{wait}."
        ) from None
    except SourceUnavailable as refusal:
        raise BrowseRefused(f"Your folders could not be listed: {refusal}") from None


def _grant_rotate(request: HttpRequest, kept: KeptGrant, refresh_token: str) -> None:
    """The refresh token Microsoft sent in place of the kept one, kept instead."""
    grant = request.session.get(GRANT_KEY)
    if grant and grant.get("provider") == kept.provider:
        credentials = {**kept.credentials, "refresh_token": refresh_token}
        request.session[GRANT_KEY] = {**grant, "sealed": credentials_seal(credentials)}


def grant_drop(*, request: HttpRequest) -> None:
    request.session.pop(GRANT_KEY, None)


def forward_query(request: HttpRequest) -> str:
    """The provider's answer, as sent on from the public site to the organization's."""
    keys = ("code", "state", "error", "error_description", "session_state", "client_info")
    return urlencode({key: request.GET[key] for key in keys if key in request.GET})


__all__ = ["ConsentRefused", "ConsentStateInvalid"]
