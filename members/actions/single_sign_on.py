"""Single sign-on through the organization's OpenID Connect identity provider: its settings
(read from the issuer's discovery document) and the members it creates."""

import re
from collections.abc import Callable
from typing import Any

import requests
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db import transaction

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import cap_ensure
from members.actions.membership import MembershipError, organization_current
from members.models import PROVISIONABLE_ROLES, IdentityProvider
from tenants.services import directory_add

# allauth's id for the organization's OpenID Connect app: sign-in starts at
# /accounts/oidc/sso/login/ and the identity provider sends people back to
# /accounts/oidc/sso/login/callback/ on the organization's own host.
SSO_PROVIDER_ID = "sso"


DISCOVERY_PATH = "/.well-known/openid-configuration"


DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def email_domains_parse(*, text: str) -> list[str]:
    """Allowed email domains as an owner types them ("acme.com, @acme.co.uk"), cleaned; or
    MembershipError."""
    domains: list[str] = []
    for word in re.split(r"[\s,;]+", text.strip().lower()):
        domain = word.removeprefix("@")
        if not domain:
            continue
        if not DOMAIN_PATTERN.match(domain):
            raise MembershipError(f"“{word}” is not an email domain (like example.com).")
        if domain not in domains:
            domains.append(domain)
    if not domains:
        raise MembershipError("Name at least one email domain whose people may sign in.")
    return domains


def identity_provider_discover(*, issuer_url: str) -> dict[str, Any]:
    """The issuer's OpenID Connect discovery document, checked to be one allauth can use, or
    MembershipError saying what is wrong. The issuer is asked over the network: call this
    outside any transaction."""
    issuer = issuer_url.rstrip("/")
    url = issuer + DISCOVERY_PATH
    try:
        response = requests.get(
            url, timeout=settings.SSO_DISCOVERY_TIMEOUT_SECONDS, allow_redirects=False
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError):
        raise MembershipError(
            f"Could not read the identity provider's configuration at {url}. "
            "Check the issuer URL: it must answer there with OpenID Connect discovery."
        ) from None
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(document, dict) or any(not document.get(key) for key in needed):
        raise MembershipError(
            f"{url} is not an OpenID Connect discovery document (it lacks the issuer's endpoints)."
        )
    if str(document["issuer"]).rstrip("/") != issuer:
        raise MembershipError(
            f"The identity provider names its issuer {document['issuer']}, not {issuer_url}. "
            "Use the issuer URL exactly as it gives it."
        )
    return document


def _audit_text(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def identity_provider_configure(
    *,
    actor: User,
    name: str,
    issuer_url: str,
    client_id: str,
    client_secret: str,
    allowed_domains: list[str],
    default_role: str,
    require_sso: bool,
) -> IdentityProvider:
    """Set up or change the organization's single sign-on; owners only. An empty
    `client_secret` keeps the stored one. The issuer is asked for its configuration first,
    so a typo is refused here rather than on everyone's next sign-in."""
    if not (actor.is_active and actor.role == Role.OWNER):
        raise MembershipError("Only an owner can change the organization's single sign-on.")
    if default_role not in dict(PROVISIONABLE_ROLES):
        raise MembershipError("Single sign-on cannot make people owners; pick another role.")
    identity_provider_discover(issuer_url=issuer_url)
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().first()
        created = provider is None
        if provider is None:
            if not client_secret:
                raise MembershipError("Give the client secret your identity provider issued.")
            provider = IdentityProvider()
        values = {
            "name": name.strip(),
            "issuer_url": issuer_url.rstrip("/"),
            "client_id": client_id.strip(),
            "allowed_domains": allowed_domains,
            "default_role": default_role,
            "require_sso": require_sso,
        }
        # Flat "from → to" texts: the audit log shows each detail as one line.
        changes = {
            field: _audit_text(value) if created else
            f"{_audit_text(getattr(provider, field))} → {_audit_text(value)}"
            for field, value in values.items()
            if created or getattr(provider, field) != value
        }  # fmt: skip
        secret_changed = bool(client_secret) and client_secret != provider.client_secret
        for field, value in values.items():
            setattr(provider, field, value)
        if secret_changed:
            provider.client_secret = client_secret
        provider.save()
        if "issuer_url" in changes and not created:
            # Subject ids are unique per issuer only: a new issuer's "sub" could name someone
            # else. People are matched again by their verified address on their next sign-in.
            SocialAccount.objects.filter(provider=SSO_PROVIDER_ID).delete()
        if changes or secret_changed:
            details: dict[str, Any] = {"setting": "single_sign_on", **changes}
            if secret_changed:
                details["client_secret"] = "replaced"  # noqa: S105 (the secret itself is never recorded)
            audit_record(
                actor=actor, action=AuditAction.SECURITY_SETTING_CHANGED, target=provider,
                details=details,
            )  # fmt: skip
    return provider


@transaction.atomic
def identity_provider_remove(*, actor: User) -> None:
    """Turn single sign-on off: password sign-in is open to everyone again. People it created
    have no password; they set one with "Forgot your password?"."""
    if not (actor.is_active and actor.role == Role.OWNER):
        raise MembershipError("Only an owner can change the organization's single sign-on.")
    provider = IdentityProvider.objects.select_for_update().first()
    if provider is None:
        return
    audit_record(
        actor=actor, action=AuditAction.SECURITY_SETTING_CHANGED, target=provider,
        details={"setting": "single_sign_on", "removed": provider.issuer_url},
    )  # fmt: skip
    SocialAccount.objects.filter(provider=SSO_PROVIDER_ID).delete()
    provider.delete()


def member_join_by_single_sign_on(*, provider: IdentityProvider, save: Callable[[], User]) -> User:
    """Just-in-time provisioning: the first sign-in of a person the identity provider vouches
    for creates them as a member with the provider's default role. `save` is allauth's, which
    stores the user, their verified address and the link to the provider; the plan's member
    cap is checked in the same transaction (CapReached refuses it)."""
    with transaction.atomic():
        organization = organization_current()
        cap_ensure(organization=organization, meter="members")
        user = save()
        directory_add(email=user.email, organization=organization)
        audit_record(
            actor=user, action=AuditAction.MEMBER_JOINED, target=user,
            details={"role": user.role, "via": "single sign-on", "provider": provider.name},
        )  # fmt: skip
    return user
