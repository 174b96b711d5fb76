"""Invitations: sending them (several addresses at once), resending, changing their role,
revoking, and accepting one by its signed link."""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import CapReached, cap_ensure
from members.actions.membership import (
    MembershipError,
    member_create,
    members_manage_ensure,
    organization_current,
)
from members.models import Invitation
from tenants.schemas import schema_name_current
from tenants.services import directory_add

INVITATION_SALT = "members.invitation"


@transaction.atomic
def invitation_create(*, actor: User, email: str, role: str, site_root: str) -> Invitation:
    """Record an invitation and email its link once the transaction commits.

    An address with a pending invitation gets that one again (its link keeps working), with
    the role now asked for. `site_root` is the organization's scheme and host, as the
    inviter reached it.
    """
    email = email.strip().lower()
    members_manage_ensure(actor=actor, role=role)
    if User.objects.filter(email=email, is_active=True).exists():
        raise MembershipError(f"{email} is already a member of this organization.")
    pending = _invitation_pending(email=email)
    if pending is not None:
        if pending.role != role:
            invitation_change_role(actor=actor, invitation=pending, role=role)
        return invitation_resend(actor=actor, invitation=pending, site_root=site_root)
    cap_ensure(organization=organization_current(), meter="members")
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
    members_manage_ensure(actor=actor, role=invitation.role)
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
    members_manage_ensure(actor=actor, role=role)
    members_manage_ensure(actor=actor, role=invitation.role)
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
        directory_add(email=user.email, organization=organization_current())
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
    members_manage_ensure(actor=actor, role=invitation.role)
    withdrawn = Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(
        revoked_at=timezone.now()
    )
    if withdrawn:
        audit_record(
            actor=actor, action=AuditAction.INVITATION_WITHDRAWN, target=invitation,
            target_label=invitation.email,
        )  # fmt: skip
