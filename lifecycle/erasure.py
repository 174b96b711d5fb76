"""Erasing a former member's personal data on request: their conversations (with their
answers, citations and feedback) are deleted, their account is kept only as an opaque id
(so the documents they uploaded and the audit log still name someone, no one in
particular), and the audit log's mentions of them (as actor or target, in labels, details
and client addresses) are replaced by that id."""

import hashlib
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from accounts.models import User
from assistant.models import Conversation, Feedback
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from members.models import Invitation, ProvisionedMember
from tenants.schemas import schema_name_current, tenant_current
from tenants.services import directory_remove

ERASED_DOMAIN = "erased.invalid"


class ErasureRefused(Exception):
    """The message is for the person."""


def member_opaque_id(*, member: User) -> str:
    """A stable id that names no one: the same for every mention of the member, and not
    derivable from their email address."""
    seed = f"{settings.SECRET_KEY}:{schema_name_current()}:{member.pk}".encode()
    return "member-" + hashlib.sha256(seed).hexdigest()[:12]


def members_erasable() -> QuerySet[User]:
    """Former members (removed, not service accounts) whose data is still there to erase."""
    return (
        User.objects.filter(is_active=False, is_service_account=False)
        .exclude(email__endswith="@" + ERASED_DOMAIN)
        .order_by("email")
    )


def _scrubbed(value: Any, email: str, opaque: str) -> Any:
    if isinstance(value, str):
        return value.replace(email, opaque)
    if isinstance(value, list):
        return [_scrubbed(item, email, opaque) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, email, opaque) for key, item in value.items()}
    return value


def _audit_scrub(member: User, opaque: str) -> int:
    email = member.email
    mentions = AuditEvent.objects.filter(
        Q(actor=member)
        | Q(actor_label__iexact=email)
        | Q(target_type="user", target_id=str(member.pk))
        | Q(target_label__icontains=email)
        | Q(details__icontains=email)
    )
    count = 0
    for event in mentions.select_for_update():
        if event.actor_id == member.pk or event.actor_label.lower() == email.lower():
            event.actor_label, event.ip_address = opaque, None
        event.target_label = event.target_label.replace(email, opaque)
        if event.target_type == "user" and event.target_id == str(member.pk):
            event.target_label = opaque
        event.details = _scrubbed(event.details, email, opaque)
        event.save(update_fields=["actor_label", "ip_address", "target_label", "details"])
        count += 1
    return count


@transaction.atomic
def member_erase(*, actor: User, member: User) -> str:
    """Erase a former member's personal data; their opaque id."""
    if member.is_active or member.is_service_account:
        raise ErasureRefused(
            f"Remove {member.email} from the organization first: only a former member's "
            "data is erased."
        )
    if member.email.endswith("@" + ERASED_DOMAIN):
        raise ErasureRefused("This former member's data was erased already.")
    opaque, email = member_opaque_id(member=member), member.email
    conversations, _ = Conversation.objects.filter(user=member).delete()
    Feedback.objects.filter(user=member).delete()
    mentions = _audit_scrub(member, opaque)
    Invitation.objects.filter(email__iexact=email).delete()
    EmailAddress.objects.filter(user=member).delete()
    SocialAccount.objects.filter(user=member).delete()
    Authenticator.objects.filter(user=member).delete()
    UserSession.objects.filter(user=member).delete()
    ProvisionedMember.objects.filter(user=member).delete()
    directory_remove(email=email, organization=tenant_current())
    member.email = f"{opaque}@{ERASED_DOMAIN}"
    member.full_name = member.first_name = member.last_name = ""
    member.last_login = None
    member.set_unusable_password()
    member.save()
    audit_record(
        actor=actor, action=AuditAction.MEMBER_ERASED, target=member, target_label=opaque,
        details={"conversations_deleted": conversations, "audit_events_anonymised": mentions},
    )  # fmt: skip
    return opaque
