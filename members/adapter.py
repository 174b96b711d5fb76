import ipaddress
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import render

from accounts.secrets_at_rest import KeyServiceUnavailable, SecretUnreadable
from accounts.throttles import client_address
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import CapReached
from members.actions.single_sign_on import (
    SAML_PROVIDER,
    SSO_PROVIDER_ID,
    member_join_by_single_sign_on,
)
from members.models import IdentityProvider, SignOnProtocol
from members.selectors import identity_provider_get, member_email_taken
from tenants.schemas import schema_is_public, tenant_current

OPENID_CONNECT = "openid_connect"
# Where allauth's OpenID Connect views are (/accounts/oidc/sso/login/ and its callback).
OPENID_CONNECT_PATH = "oidc"


class OrganizationAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # People join an organization by invitation only (members.views.invitation_accept);
        # organizations themselves are created on the public site.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        # One client address for throttles, the audit log and the session list: REMOTE_ADDR,
        # which uvicorn sets from X-Forwarded-For of trusted proxies only. allauth refuses the
        # sign-in (403) when it finds none; a connection without a peer address (a unix socket,
        # Django's test client) is recorded as 0.0.0.0 instead.
        address = client_address(request)
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            return "0.0.0.0"  # noqa: S104 (an address recorded, not bound to)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts failed sign-ins per address ("key" in ACCOUNT_RATE_LIMITS), so five
        # wrong passwords from anyone locked the account for everyone, its owner included.
        # The address and the client together: an attacker locks out only themselves.
        # allauth 65 has no "ip+key" rate; this is the key its login_failed limit uses.
        address = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{address}:{client_address(request)}"


class AuditedUserSessionsAdapter(DefaultUserSessionsAdapter):
    """allauth's "Sign out other sessions", recorded in the audit log with the sessions it
    ended, in the transaction that ends them."""

    def end_sessions(self, sessions: Any) -> None:
        sessions = list(sessions)
        if not sessions:
            return
        with transaction.atomic():
            super().end_sessions(sessions)
            for user in {session.user for session in sessions}:
                ended = [s for s in sessions if s.user_id == user.pk]
                audit_record(
                    actor=user, action=AuditAction.SESSIONS_ENDED, target=user,
                    details={"sessions": len(ended), "addresses": sorted({s.ip for s in ended})},
                )  # fmt: skip


# Where the usual identity providers put a person's address and name in an assertion: Okta's
# and the local provider's attribute names, Entra's claim URIs, and the LDAP OIDs.
SAML_ATTRIBUTES = {
    "uid": ["urn:oasis:names:tc:SAML:attribute:subject-id"],
    "email": [
        "email", "mail", "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ],
    "first_name": [
        "firstName", "givenName", "urn:oid:2.5.4.42",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    ],
    "last_name": [
        "lastName", "surname", "sn", "urn:oid:2.5.4.4",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    ],
}  # fmt: skip


def _saml_settings(provider: IdentityProvider) -> dict[str, Any]:
    return {
        "idp": {
            "entity_id": provider.saml_entity_id,
            "sso_url": provider.saml_sso_url,
            "x509cert": provider.saml_certificate,
        },
        "attribute_mapping": SAML_ATTRIBUTES,
        "advanced": {
            "strict": True,
            # Every assertion signed by the certificate in the metadata: an unsigned one, or
            # one signed by any other key, is refused (python3-saml checks it).
            "want_assertion_signed": True,
            "want_name_id": True,
            "reject_deprecated_algorithm": True,
            # Only answers to a sign-in started here: an answer the identity provider sends
            # unasked, or one replayed (its request's state is used once), is refused.
            "reject_idp_initiated_sso": True,
        },
    }


def identity_provider_app(
    provider: IdentityProvider, request: HttpRequest | None = None
) -> SocialApp:
    """allauth's app for the organization's identity provider, built from its row on each
    request (never saved: one source of truth, and the secret stays in one table, encrypted;
    it is opened here)."""
    if provider.protocol == SignOnProtocol.SAML:
        return SocialApp(
            provider=SAML_PROVIDER,
            client_id=SSO_PROVIDER_ID,
            name=provider.name,
            settings=_saml_settings(provider),
        )
    return SocialApp(
        provider=OPENID_CONNECT,
        provider_id=SSO_PROVIDER_ID,
        name=provider.name,
        client_id=provider.client_id,
        secret=_client_secret(provider, request),
        settings={"server_url": provider.issuer_url},
    )


def _client_secret(provider: IdentityProvider, request: HttpRequest | None) -> str:
    try:
        return provider.client_secret
    except SecretUnreadable as refusal:
        if request is None or f"/{OPENID_CONNECT_PATH}/{SSO_PROVIDER_ID}/" not in request.path:
            # The sign-in page lists the button all the same; pressing it says why it fails.
            return ""
        if isinstance(refusal, KeyServiceUnavailable):
            raise _refusal(request, str(refusal), status=503) from None
        raise _refusal(
            request,
            f"Single sign-on with {provider.name} is not working: its client secret cannot be "
            "read with the keys this service has. An owner can sign in with their password "
            "and enter the secret again on the Single sign-on page.",
            status=503,
        ) from None


def _refusal(request: HttpRequest, message: str, status: int = 403) -> ImmediateHttpResponse:
    context = {"refusal": message}
    return ImmediateHttpResponse(
        render(request, "members/sso_refused.html", context, status=status)
    )


class OrganizationSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on with the organization's own OpenID Connect provider: its app comes from
    the organization's schema; who may come in is decided by its allowed email domains."""

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        if schema_is_public():
            return []  # the platform's admin site has no single sign-on
        identity_provider = identity_provider_get()
        if identity_provider is None:
            return []
        app = identity_provider_app(identity_provider, request)
        if provider not in (None, app.provider, app.provider_id):
            return []
        if client_id is not None and client_id != app.client_id:
            return []
        return [app]

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # pre_social_login has refused anyone outside the allowed domains by now.
        return True

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        provider = identity_provider_get()
        if provider is None:
            raise _refusal(request, "Single sign-on is not set up for this organization.")
        verified = [address.email for address in sociallogin.email_addresses if address.verified]
        if not verified:
            raise _refusal(
                request,
                f"{provider.name} did not confirm a verified email address for you, so "
                f"{tenant_current().name} cannot tell who you are. Ask your administrator.",
            )
        if not any(provider.allows_email(email) for email in verified):
            domains = ", ".join(provider.allowed_domains)
            raise _refusal(
                request,
                f"{verified[0]} may not sign in to {tenant_current().name} with {provider.name}: "
                f"only addresses at {domains} can. Ask an owner of "
                f"{tenant_current().name} to invite you instead.",
            )
        organization = tenant_current().name
        if sociallogin.is_existing and not sociallogin.user.is_active:
            raise _refusal(
                request,
                f"{verified[0]} was removed from {organization}. Ask an owner or admin to "
                "invite you again.",
            )
        if not sociallogin.is_existing and member_email_taken(email=verified[0]):
            # An account allauth did not match by address: it would offer a signup form to
            # pick another address, which would get round the allowed domains.
            raise _refusal(
                request,
                f"{verified[0]} already has an account in {organization} that {provider.name} "
                "cannot open. Ask an owner or admin.",
            )

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: Any) -> Any:
        user = super().populate_user(request, sociallogin, data)
        provider = identity_provider_get()
        if provider is not None:
            user.role = provider.default_role
        joined = " ".join(filter(None, (data.get("first_name"), data.get("last_name"))))
        user.full_name = (data.get("name") or joined or "")[:150]
        if sociallogin.account.provider == SAML_PROVIDER:
            # A SAML assertion carries no "email verified"; the identity provider signed it
            # (python3-saml checked the signature against its metadata), and so vouches for
            # the address it asserts. This runs before allauth matches people by address.
            for address in sociallogin.email_addresses:
                address.verified = True
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        """A SAML answer that was refused gets a page that says why, in words."""
        super().on_authentication_error(request, provider, error, exception, extra_context)
        if provider.id != SAML_PROVIDER:
            return
        reason = str((extra_context or {}).get("saml_last_error_reason") or "")
        raise _refusal(request, saml_refusal_sentence(reason, provider_name=provider.name))

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> Any:
        provider = identity_provider_get()
        assert provider is not None  # pre_social_login refused the sign-in otherwise
        try:
            return member_join_by_single_sign_on(
                provider=provider, save=lambda: super(OrganizationSocialAccountAdapter, self)
                .save_user(request, sociallogin, form),
            )  # fmt: skip
        except CapReached as refusal:
            raise _refusal(
                request, f"{refusal.summary} Ask your admin to upgrade the plan."
            ) from None


def saml_refusal_sentence(reason: str, *, provider_name: str) -> str:
    """python3-saml's reason for refusing an answer, as its reader needs it."""
    organization = tenant_current().name
    lowered = reason.lower()
    if "signature" in lowered:
        return (
            f"{provider_name}'s answer was not signed with the certificate {organization} has "
            f"on file, so it was refused. If {provider_name} has a new signing certificate, an "
            "owner saves the single sign-on settings again to read its metadata."
        )
    if "expired" in lowered or "timestamp" in lowered or "subjectconfirmation" in lowered:
        return (
            f"{provider_name}'s answer has expired (an answer is valid for a few minutes) or is "
            "dated in the future, so it was refused. Sign in again; if this keeps happening, "
            f"a clock is wrong at {provider_name} or here."
        )
    if "audience" in lowered:
        return (
            f"{provider_name}'s answer was meant for another application, not {organization}, "
            f"so it was refused. In {provider_name}, check this application's entity ID: it is "
            "the SP metadata URL on the Single sign-on page."
        )
    if reason:
        return f"Signing in with {provider_name} was refused: {reason}"
    return (
        f"Signing in with {provider_name} did not complete. Start again from {organization}'s "
        "sign-in page."
    )
