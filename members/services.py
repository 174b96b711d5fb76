"""Membership of the current organization: accounts, invitations, roles, sign-in hand-off.

Every function runs in the schema of the organization in force on the connection.
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import CapReached, cap_ensure
from billing.services import billing_account_create
from members.models import PROVISIONABLE_ROLES, IdentityProvider, Invitation, LoginHandoff
from members.signals import member_authority_withdrawn
from tenants.models import Organization
from tenants.schemas import schema_name_current, tenant_current
from tenants.services import directory_add, directory_remove, organization_create

INVITATION_SALT = "members.invitation"
HANDOFF_SALT = "members.handoff"


class MembershipError(Exception):
    """A refused membership action; the message is shown to the user as is."""


def _current_organization() -> Organization:
    tenant = tenant_current()
    assert isinstance(tenant, Organization), "membership services need an organization schema"
    return tenant


@transaction.atomic
def member_create(*, email: str, password: str, role: str, email_verified: bool) -> User:
    email = email.strip().lower()
    user = User.objects.create_user(email=email, password=password, role=role)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    directory_add(email=email, organization=_current_organization())
    return user


def organization_signup(
    *, name: str, slug: str, owner_email: str, owner_password: str
) -> tuple[Organization, User]:
    """A new organization with its billing account (on the Free plan) and its owner, whose
    email is still to be verified. ValidationError when the address is taken meanwhile."""
    try:
        with transaction.atomic():
            organization = organization_create(name=name, slug=slug)
            billing_account_create(organization=organization)
            with tenant_context(organization):
                owner = member_create(
                    email=owner_email,
                    password=owner_password,
                    role=Role.OWNER,
                    email_verified=False,
                )
    except IntegrityError:
        # Signups for one address at the same moment all pass the "is it free" check; the
        # unique schema name lets the first insert win and the others wait for it, then fail.
        raise ValidationError(
            f"“{slug}” was just taken by someone else. Please choose another address."
        ) from None
    return organization, owner


def _owners_locked() -> list[User]:
    # Lock the owner rows so two concurrent demotions cannot both see "another owner left".
    return list(User.objects.select_for_update().filter(role=Role.OWNER, is_active=True))


def _ensure_not_last_owner(member: User) -> None:
    owners = _owners_locked()
    if member.role == Role.OWNER and len(owners) <= 1:
        raise MembershipError(
            "An organization needs at least one owner. Make someone else an owner first."
        )


def _ensure_may_manage(*, actor: User, role: str, member: User | None = None) -> None:
    if not actor.can_manage_members:
        raise MembershipError("Only owners and admins can manage members.")
    touches_owner = role == Role.OWNER or (member is not None and member.role == Role.OWNER)
    if touches_owner and actor.role != Role.OWNER:
        raise MembershipError("Only an owner can grant or take away the owner role.")


@transaction.atomic
def member_change_role(*, actor: User, member: User, role: str) -> User:
    if role not in Role.values:
        raise MembershipError("Unknown role.")
    _ensure_may_manage(actor=actor, role=role, member=member)
    if role != Role.OWNER:
        _ensure_not_last_owner(member)
    could_manage = member.can_manage_members
    previous = member.role
    member.role = role
    member.save(update_fields=["role"])
    audit_record(
        actor=actor, action=AuditAction.MEMBER_ROLE_CHANGED, target=member,
        details={"from": previous, "to": role},
    )  # fmt: skip
    if could_manage and not member.can_manage_members:
        member_authority_withdrawn.send(sender=User, actor=actor, member=member)
    return member


@transaction.atomic
def member_remove(*, actor: User, member: User) -> int:
    """Deactivate the member: their sessions stop working at once (inactive users cannot
    authenticate) and what they authored keeps its author. A new invitation restores them.
    The API keys they made are revoked (a key acts on its maker's authority); returns how
    many."""
    _ensure_may_manage(actor=actor, role=member.role, member=member)
    _ensure_not_last_owner(member)
    previous = member.role
    member.is_active = False
    member.role = Role.MEMBER
    member.save(update_fields=["is_active", "role"])
    directory_remove(email=member.email, organization=_current_organization())
    audit_record(
        actor=actor, action=AuditAction.MEMBER_REMOVED, target=member, details={"role": previous}
    )
    withdrawn = member_authority_withdrawn.send(sender=User, actor=actor, member=member)
    return sum(cast(int, revoked) for _, revoked in withdrawn)


@transaction.atomic
def invitation_create(*, actor: User, email: str, role: str, site_root: str) -> Invitation:
    """Record an invitation and email its link once the transaction commits.

    An address with a pending invitation gets that one again (its link keeps working), with
    the role now asked for. `site_root` is the organization's scheme and host, as the
    inviter reached it.
    """
    email = email.strip().lower()
    _ensure_may_manage(actor=actor, role=role)
    if User.objects.filter(email=email, is_active=True).exists():
        raise MembershipError(f"{email} is already a member of this organization.")
    pending = _invitation_pending(email=email)
    if pending is not None:
        if pending.role != role:
            invitation_change_role(actor=actor, invitation=pending, role=role)
        return invitation_resend(actor=actor, invitation=pending, site_root=site_root)
    cap_ensure(organization=_current_organization(), meter="members")
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        nonce=secrets.token_urlsafe(32),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(seconds=settings.INVITATION_MAX_AGE_SECONDS),
    )
    _invitation_email_queue(invitation=invitation, site_root=site_root)
    audit_record(
        actor=actor, action=AuditAction.MEMBER_INVITED, target=invitation, target_label=email,
        details={"role": role},
    )  # fmt: skip
    return invitation


def _invitation_pending(*, email: str) -> Invitation | None:
    return (
        Invitation.objects.select_for_update()
        .filter(email=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now())
        .first()
    )


def _invitation_email_queue(*, invitation: Invitation, site_root: str) -> None:
    from members.tasks import invitation_send

    accept_url = invitation_accept_url(invitation=invitation, site_root=site_root)
    transaction.on_commit(lambda: invitation_send.delay(invitation.pk, accept_url))


def invitation_accept_url(*, invitation: Invitation, site_root: str) -> str:
    """The link that accepts the invitation, on the organization's site (`site_root`)."""
    token = invitation_token(invitation=invitation)
    return site_root + reverse("members:invitation_accept", args=[token])


def _ensure_pending(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise MembershipError(f"{invitation.email} has already accepted the invitation.")
    if invitation.revoked_at is not None:
        raise MembershipError(f"The invitation for {invitation.email} was withdrawn.")


@transaction.atomic
def invitation_resend(*, actor: User, invitation: Invitation, site_root: str) -> Invitation:
    """Email the pending invitation again, valid for a full period from now."""
    _ensure_may_manage(actor=actor, role=invitation.role)
    _ensure_pending(invitation)
    invitation.expires_at = timezone.now() + timedelta(seconds=settings.INVITATION_MAX_AGE_SECONDS)
    invitation.save(update_fields=["expires_at"])
    _invitation_email_queue(invitation=invitation, site_root=site_root)
    audit_record(
        actor=actor, action=AuditAction.MEMBER_INVITED, target=invitation,
        target_label=invitation.email, details={"role": invitation.role, "resent": "yes"},
    )  # fmt: skip
    return invitation


@transaction.atomic
def invitation_change_role(*, actor: User, invitation: Invitation, role: str) -> Invitation:
    """The role the invitee will have on accepting. Owners only for the owner role, given
    or taken away, as for members."""
    if role not in Role.values:
        raise MembershipError("Unknown role.")
    _ensure_may_manage(actor=actor, role=role)
    _ensure_may_manage(actor=actor, role=invitation.role)
    _ensure_pending(invitation)
    previous = invitation.role
    if previous == role:
        return invitation
    invitation.role = role
    invitation.save(update_fields=["role"])
    audit_record(
        actor=actor, action=AuditAction.MEMBER_ROLE_CHANGED, target=invitation,
        target_label=invitation.email, details={"from": previous, "to": role, "invitation": "yes"},
    )  # fmt: skip
    return invitation


@dataclass(frozen=True)
class InvitationOutcome:
    """What happened to one address of a (possibly several-address) invitation."""

    email: str
    message: str
    sent: bool
    cap_reached: CapReached | None = None


INVITATION_ADDRESSES_MAX = 50


def invitation_addresses_parse(*, text: str) -> list[str]:
    """The addresses in `text`, separated by commas, semicolons, spaces or new lines,
    lowercased, each once, in the order given (not validated: each gets its own answer)."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;\s]+", text):
        address = part.strip().strip("<>").lower()
        if address:
            seen.setdefault(address, None)
    return list(seen)


def invitations_send(
    *, actor: User, emails: list[str], role: str, site_root: str
) -> list[InvitationOutcome]:
    """Invite each address on its own (one refused address does not stop the others) and
    say, per address, what happened."""
    return [
        _invitation_send_one(actor=actor, email=email, role=role, site_root=site_root)
        for email in emails
    ]


def _invitation_send_one(
    *, actor: User, email: str, role: str, site_root: str
) -> InvitationOutcome:
    try:
        validate_email(email)
    except ValidationError:
        return InvitationOutcome(email, "not invited: this is not an email address.", sent=False)
    earlier = Invitation.objects.filter(
        email=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).first()
    try:
        invitation_create(actor=actor, email=email, role=role, site_root=site_root)
    except MembershipError as refusal:
        return InvitationOutcome(email, f"not invited: {refusal}", sent=False)
    except CapReached as refusal:
        return InvitationOutcome(
            email, f"not invited: {refusal.summary}", sent=False, cap_reached=refusal
        )
    if earlier is not None:
        day = date_format(timezone.localtime(earlier.created_at), "j M Y")
        return InvitationOutcome(email, f"already invited on {day}; invitation sent again.", True)
    return InvitationOutcome(email, "invitation sent.", sent=True)


def invitation_token(*, invitation: Invitation) -> str:
    return signing.dumps(
        {"n": invitation.nonce, "s": schema_name_current()}, salt=INVITATION_SALT, compress=True
    )


def invitation_from_token(*, token: str) -> Invitation:
    """The pending invitation a token names, or MembershipError saying why not."""
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=settings.INVITATION_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise MembershipError("This invitation has expired. Ask for a new one.") from None
    except signing.BadSignature:
        raise MembershipError("This invitation link is not valid.") from None
    invitation = Invitation.objects.filter(nonce=payload.get("n")).first()
    if invitation is None or payload.get("s") != schema_name_current():
        raise MembershipError("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise MembershipError("This invitation has already been used. Sign in instead.")
    if invitation.revoked_at is not None:
        raise MembershipError("This invitation was withdrawn. Ask for a new one.")
    if invitation.expires_at <= timezone.now():
        raise MembershipError("This invitation has expired. Ask for a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, full_name: str = "") -> User:
    """Create (or restore) the invitee's account in this organization only."""
    invitation = invitation_from_token(token=token)
    # Claim the invitation first: of two concurrent accepts, only one updates the row.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(
        accepted_at=timezone.now()
    )
    if not claimed:
        raise MembershipError("This invitation has already been used. Sign in instead.")
    user = User.objects.filter(email=invitation.email).first()
    if user is None:
        user = member_create(
            email=invitation.email, password=password, role=invitation.role, email_verified=True
        )
    else:
        user.is_active = True
        user.role = invitation.role
        user.set_password(password)
        user.save(update_fields=["is_active", "role", "password"])
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"primary": True, "verified": True}
        )
        directory_add(email=user.email, organization=_current_organization())
    if full_name:
        user.full_name = full_name.strip()
        user.save(update_fields=["full_name"])
    inviter = invitation.invited_by.email if invitation.invited_by is not None else ""
    audit_record(
        actor=user, action=AuditAction.MEMBER_JOINED, target=user,
        details={"role": invitation.role, "invited_by": inviter},
    )  # fmt: skip
    return user


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    _ensure_may_manage(actor=actor, role=invitation.role)
    withdrawn = Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(
        revoked_at=timezone.now()
    )
    if withdrawn:
        audit_record(
            actor=actor, action=AuditAction.INVITATION_WITHDRAWN, target=invitation,
            target_label=invitation.email,
        )  # fmt: skip


def email_verification_send(*, request: HttpRequest, user: User) -> None:
    """Email a verification link for the user's primary address unless it is verified.

    Needs the request of the organization's own host: the link is built from it."""
    address = EmailAddress.objects.filter(user=user, primary=True, verified=False).first()
    if address is not None:
        address.send_confirmation(request, signup=True)


def handoff_issue(*, user: User) -> str:
    nonce = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(nonce=nonce, user=user)
    return signing.dumps({"n": nonce, "s": schema_name_current()}, salt=HANDOFF_SALT)


def handoff_consume(*, token: str) -> User | None:
    """The user a hand-off token signs in, once, within its short lifetime; else None."""
    try:
        payload = signing.loads(token, salt=HANDOFF_SALT, max_age=settings.HANDOFF_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if payload.get("s") != schema_name_current():
        return None
    used = LoginHandoff.objects.filter(nonce=payload.get("n"), used_at=None).update(
        used_at=timezone.now()
    )
    if not used:
        return None
    handoff = LoginHandoff.objects.select_related("user").get(nonce=payload["n"])
    return handoff.user if handoff.user.is_active else None


def _ensure_manager(actor: User) -> None:
    if not actor.can_manage_members:
        raise MembershipError("Only owners and admins can manage groups.")


@transaction.atomic
def group_create(*, actor: User, name: str) -> Group:
    _ensure_manager(actor)
    group, created = Group.objects.get_or_create(name=name.strip())
    if not created:
        raise MembershipError(f"A group called “{group.name}” exists already.")
    audit_record(actor=actor, action=AuditAction.GROUP_CREATED, target=group)
    return group


@transaction.atomic
def group_member_add(*, actor: User, group: Group, email: str) -> User:
    _ensure_manager(actor)
    member = User.objects.filter(
        email__iexact=email.strip(), is_active=True, is_service_account=False
    ).first()
    if member is None:
        raise MembershipError(f"{email} is not a member of this organization.")
    member.groups.add(group)
    audit_record(
        actor=actor, action=AuditAction.GROUP_MEMBER_ADDED, target=group,
        details={"member": member.email},
    )  # fmt: skip
    return member


@transaction.atomic
def group_member_remove(*, actor: User, group: Group, member: User) -> None:
    _ensure_manager(actor)
    member.groups.remove(group)
    audit_record(
        actor=actor, action=AuditAction.GROUP_MEMBER_REMOVED, target=group,
        details={"member": member.email},
    )  # fmt: skip


@transaction.atomic
def group_delete(*, actor: User, group: Group) -> None:
    _ensure_manager(actor)
    audit_record(actor=actor, action=AuditAction.GROUP_DELETED, target=group)
    group.delete()


@transaction.atomic
def organization_two_factor_require(*, actor: User, required: bool) -> Organization:
    """Turn "require two-factor for everyone" on or off; owners only."""
    if not (actor.is_active and actor.role == Role.OWNER):
        raise MembershipError("Only an owner can change the organization's security settings.")
    organization = Organization.objects.select_for_update().get(pk=_current_organization().pk)
    if organization.require_two_factor != required:
        audit_record(
            actor=actor, action=AuditAction.SECURITY_SETTING_CHANGED, target=organization,
            details={"setting": "require_two_factor", "from": organization.require_two_factor,
                     "to": required},
        )  # fmt: skip
        organization.require_two_factor = required
        organization.save(update_fields=["require_two_factor"])
    return organization


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
        organization = _current_organization()
        cap_ensure(organization=organization, meter="members")
        user = save()
        directory_add(email=user.email, organization=organization)
        audit_record(
            actor=user, action=AuditAction.MEMBER_JOINED, target=user,
            details={"role": user.role, "via": "single sign-on", "provider": provider.name},
        )  # fmt: skip
    return user
