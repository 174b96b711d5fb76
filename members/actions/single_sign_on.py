"""Single sign-on through the organization's OpenID Connect identity provider: its settings
(read from the issuer's discovery document) and the members it creates."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db import transaction
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from accounts.models import Role, User
from accounts.secrets_at_rest import KeyServiceUnavailable, secret_seal
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import cap_ensure
from members.actions.membership import MembershipError, organization_current
from members.models import (
    CLIENT_SECRET_PURPOSE,
    PROVISIONABLE_ROLES,
    IdentityProvider,
    SignOnProtocol,
)
from tenants.services import directory_add

# allauth's id for the organization's OpenID Connect app: sign-in starts at
# /accounts/oidc/sso/login/ and the identity provider sends people back to
# /accounts/oidc/sso/login/callback/ on the organization's own host. Over SAML the same id
# is the app's "organization slug": /accounts/saml/sso/login/, /accounts/saml/sso/acs/.
SSO_PROVIDER_ID = "sso"
# allauth's SAML provider, which links accounts under its own id.
SAML_PROVIDER = "saml"


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


@dataclass(frozen=True)
class SamlIdentity:
    """What the product needs of a SAML identity provider's metadata."""

    entity_id: str
    sso_url: str
    certificate: str  # base64 DER, the one its assertions are signed with


def saml_metadata_read(*, metadata_url: str, metadata_xml: str) -> SamlIdentity:
    """The identity provider's entity id, sign-in URL and signing certificate from its
    metadata: read from `metadata_url` (over the network: call this outside any transaction)
    or parsed from `metadata_xml`; or MembershipError saying what is wrong."""
    metadata_url, metadata_xml = metadata_url.strip(), metadata_xml.strip()
    if not (metadata_url or metadata_xml):
        raise MembershipError("Give the identity provider's metadata URL, or paste its XML.")
    where = metadata_url or "the XML given"
    if metadata_url:
        try:
            response = requests.get(
                metadata_url, timeout=settings.SSO_DISCOVERY_TIMEOUT_SECONDS,
                allow_redirects=False,
            )  # fmt: skip
            response.raise_for_status()
        except requests.RequestException:
            raise MembershipError(
                f"Could not read the identity provider's metadata at {metadata_url}. Check the "
                "URL, or paste the metadata XML instead."
            ) from None
        metadata_xml = response.text
    try:
        idp = OneLogin_Saml2_IdPMetadataParser.parse(metadata_xml).get("idp", {})
    except Exception:  # lxml's and python3-saml's errors alike: this is not metadata
        idp = {}
    certificates = idp.get("x509certMulti", {}).get("signing") or [idp.get("x509cert")]
    identity = SamlIdentity(
        entity_id=str(idp.get("entityId") or ""),
        sso_url=str(idp.get("singleSignOnService", {}).get("url") or ""),
        certificate=str(certificates[0] or ""),
    )
    if not (identity.entity_id and identity.sso_url and identity.certificate):
        raise MembershipError(
            f"{where} is not SAML metadata of an identity provider: it needs an entityID, a "
            "single sign-on service with the HTTP-Redirect binding and a signing certificate."
        )
    if not identity.sso_url.startswith("https://") and not settings.SSO_ALLOW_HTTP_ISSUERS:
        raise MembershipError(
            f"The identity provider's sign-in URL {identity.sso_url} must start with https://."
        )
    return identity


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
    """Set up or change the organization's single sign-on over OpenID Connect; owners only.
    An empty `client_secret` keeps the stored one. The issuer is asked for its configuration
    first, so a typo is refused here rather than on everyone's next sign-in."""
    _configure_ensure(actor=actor, default_role=default_role)
    identity_provider_discover(issuer_url=issuer_url)
    values = {
        "protocol": SignOnProtocol.OPENID_CONNECT,
        "name": name.strip(),
        "issuer_url": issuer_url.rstrip("/"),
        "client_id": client_id.strip(),
        "allowed_domains": allowed_domains,
        "default_role": default_role,
        "require_sso": require_sso,
    }
    return _provider_save(actor=actor, values=values, client_secret=client_secret)


def identity_provider_configure_saml(
    *,
    actor: User,
    name: str,
    metadata_url: str,
    metadata_xml: str,
    allowed_domains: list[str],
    default_role: str,
    require_sso: bool,
) -> IdentityProvider:
    """Set up or change the organization's single sign-on over SAML 2.0 from the identity
    provider's metadata (its URL, read now, or the XML pasted); owners only."""
    _configure_ensure(actor=actor, default_role=default_role)
    identity = saml_metadata_read(metadata_url=metadata_url, metadata_xml=metadata_xml)
    values = {
        "protocol": SignOnProtocol.SAML,
        "name": name.strip(),
        "saml_metadata_url": metadata_url.strip(),
        "saml_entity_id": identity.entity_id,
        "saml_sso_url": identity.sso_url,
        "saml_certificate": identity.certificate,
        "allowed_domains": allowed_domains,
        "default_role": default_role,
        "require_sso": require_sso,
        # What OpenID Connect needed is forgotten, its secret first.
        "issuer_url": "",
        "client_id": "",
    }
    return _provider_save(actor=actor, values=values, forget_secret=True)


def _configure_ensure(*, actor: User, default_role: str) -> None:
    if not (actor.is_active and actor.role == Role.OWNER):
        raise MembershipError("Only an owner can change the organization's single sign-on.")
    if default_role not in dict(PROVISIONABLE_ROLES):
        raise MembershipError("Single sign-on cannot make people owners; pick another role.")


# Recorded as "replaced", never as their value: a secret, and a certificate too long to read.
UNRECORDED_FIELDS = {"client_secret", "saml_certificate"}
# A change to any of these means the accounts linked so far may name other people.
IDENTITY_FIELDS = {"protocol", "issuer_url", "saml_entity_id"}


def _provider_save(
    *, actor: User, values: dict[str, Any], client_secret: str = "", forget_secret: bool = False
) -> IdentityProvider:
    sealed = _client_secret_seal(client_secret) if client_secret else ""
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().first()
        created = provider is None
        if provider is None:
            provider = IdentityProvider()
        if values["protocol"] == SignOnProtocol.OPENID_CONNECT and not (
            client_secret or provider.client_secret_encrypted
        ):
            raise MembershipError("Give the client secret your identity provider issued.")
        # Flat "from → to" texts: the audit log shows each detail as one line.
        changes = {
            field: "replaced" if field in UNRECORDED_FIELDS else
            _audit_text(value) if created else
            f"{_audit_text(getattr(provider, field))} → {_audit_text(value)}"
            for field, value in values.items()
            if (created and value) or (not created and getattr(provider, field) != value)
        }  # fmt: skip
        # The secret is compared with nothing (that would mean opening the stored one): a
        # secret given is recorded as replaced.
        if sealed or (forget_secret and provider.client_secret_encrypted):
            changes["client_secret"] = "replaced"  # noqa: S105 (a word, not the secret)
            provider.client_secret_encrypted = sealed
        for field, value in values.items():
            setattr(provider, field, value)
        provider.save()
        if not created and IDENTITY_FIELDS & set(changes):
            # Subject ids are unique per issuer only: a new issuer's "sub" (or NameID) could
            # name someone else. People are matched again by their verified address on their
            # next sign-in.
            SocialAccount.objects.filter(provider__in=[SSO_PROVIDER_ID, SAML_PROVIDER]).delete()
        if changes:
            audit_record(
                actor=actor, action=AuditAction.SECURITY_SETTING_CHANGED, target=provider,
                details={"setting": "single_sign_on", **changes},
            )  # fmt: skip
    return provider


def _client_secret_seal(client_secret: str) -> str:
    try:
        return secret_seal(client_secret, purpose=CLIENT_SECRET_PURPOSE)
    except KeyServiceUnavailable as refusal:
        raise MembershipError(str(refusal)) from None


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
    SocialAccount.objects.filter(provider__in=[SSO_PROVIDER_ID, SAML_PROVIDER]).delete()
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
