"""Slack's OAuth v2 install across our two kinds of host. Slack sends the browser back to
one redirect URL registered with the app, on the public site; the install was started, and
must be completed, on the organization's own site, where the owner or admin is signed in.
So the state names the organization (signed, ten minutes) and carries a nonce that the
starting session holds: the public callback only forwards to the organization's site, which
completes the install for the same session, once."""

import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from slack_sdk.oauth import AuthorizeUrlGenerator

from integrations.services import BOT_SCOPES

STATE_SALT = "integrations.slack.install"
STATE_MAX_AGE_SECONDS = 600
SESSION_KEY = "slack_install"


class InstallStateInvalid(Exception):
    pass


def public_site_root(request: HttpRequest, organization_slug: str) -> str:
    """The public site's scheme and host, from an organization's request
    (acme.example.com:8000 -> example.com:8000)."""
    host = request.get_host()
    prefix = f"{organization_slug}."
    return f"{request.scheme}://{host.removeprefix(prefix)}"


def organization_site_root(request: HttpRequest, organization_slug: str) -> str:
    """An organization's scheme and host, from a request to the public site."""
    return f"{request.scheme}://{organization_slug}.{request.get_host()}"


def redirect_uri(public_root: str) -> str:
    # The public site's URL conf: this runs on an organization's site, whose conf lacks it.
    path = reverse("integrations_public:oauth_callback", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return public_root + path


def install_begin(*, request: HttpRequest, organization_slug: str, workspace_ids: list[int]) -> str:
    """Where to send the browser to approve the install (Slack's authorize page), with the
    chosen workspaces and a one-time nonce kept in this session."""
    nonce = secrets.token_urlsafe(24)
    request.session[SESSION_KEY] = {"nonce": nonce, "workspaces": workspace_ids}
    state = signing.dumps({"org": organization_slug, "nonce": nonce}, salt=STATE_SALT)
    generator = AuthorizeUrlGenerator(
        client_id=settings.SLACK_OAUTH_CLIENT_ID,
        scopes=list(BOT_SCOPES),
        redirect_uri=redirect_uri(public_site_root(request, organization_slug)),
        authorization_url=settings.SLACK_AUTHORIZE_URL,
    )
    return str(generator.generate(state))


def state_organization(state: str) -> str:
    """The organization a state was made for; InstallStateInvalid if forged or stale."""
    try:
        payload: dict[str, Any] = signing.loads(
            state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS
        )
    except signing.BadSignature as error:
        raise InstallStateInvalid from error
    return str(payload["org"])


def install_claim(*, request: HttpRequest, state: str, organization_slug: str) -> list[int]:
    """The workspaces chosen when this session began the install that `state` belongs to;
    the nonce is used up. InstallStateInvalid for another session's or organization's."""
    started = request.session.pop(SESSION_KEY, None)
    try:
        payload: dict[str, Any] = signing.loads(
            state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS
        )
    except signing.BadSignature as error:
        raise InstallStateInvalid from error
    if (
        started is None
        or payload.get("org") != organization_slug
        or not secrets.compare_digest(str(payload.get("nonce")), str(started.get("nonce")))
    ):
        raise InstallStateInvalid
    return [int(workspace_id) for workspace_id in started.get("workspaces", [])]


def forward_query(request: HttpRequest) -> str:
    return urlencode(
        {key: request.GET[key] for key in ("code", "state", "error") if key in request.GET}
    )
