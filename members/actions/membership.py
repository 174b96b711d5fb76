"""Members of an organization: creating one, changing a role, removing one (the last owner is
protected), and the checks the other actions share."""

from typing import cast

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db import transaction

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from members.signals import member_authority_withdrawn
from tenants.models import Organization
from tenants.schemas import tenant_current
from tenants.services import directory_add, directory_remove


class MembershipError(Exception):
    """A refused membership action; the message is shown to the user as is."""


def organization_current() -> Organization:
    tenant = tenant_current()
    assert isinstance(tenant, Organization), "membership services need an organization schema"
    return tenant


@transaction.atomic
def member_create(*, email: str, password: str, role: str, email_verified: bool) -> User:
    email = email.strip().lower()
    user = User.objects.create_user(email=email, password=password, role=role)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    directory_add(email=email, organization=organization_current())
    return user


def _owners_locked() -> list[User]:
    # Lock the owner rows so two concurrent demotions cannot both see "another owner left".
    return list(User.objects.select_for_update().filter(role=Role.OWNER, is_active=True))


def _ensure_not_last_owner(member: User) -> None:
    owners = _owners_locked()
    if member.role == Role.OWNER and len(owners) <= 1:
        raise MembershipError(
            "An organization needs at least one owner. Make someone else an owner first."
        )


def members_manage_ensure(*, actor: User, role: str, member: User | None = None) -> None:
    if not actor.can_manage_members:
        raise MembershipError("Only owners and admins can manage members.")
    touches_owner = role == Role.OWNER or (member is not None and member.role == Role.OWNER)
    if touches_owner and actor.role != Role.OWNER:
        raise MembershipError("Only an owner can grant or take away the owner role.")


@transaction.atomic
def member_change_role(*, actor: User, member: User, role: str) -> User:
    if role not in Role.values:
        raise MembershipError("Unknown role.")
    members_manage_ensure(actor=actor, role=role, member=member)
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
        member_authority_withdrawn.send(sender=User, actor=actor, actor_label="", member=member)
    return member


@transaction.atomic
def member_remove(*, actor: User, member: User) -> int:
    """Deactivate the member (member_deactivate) on an owner's or admin's word; returns how
    many API keys they made were revoked."""
    members_manage_ensure(actor=actor, role=member.role, member=member)
    return member_deactivate(actor=actor, member=member)


@transaction.atomic
def member_deactivate(
    *,
    actor: User | None,
    member: User,
    actor_label: str = "",
    details: dict[str, str] | None = None,
) -> int:
    """Take the member's access away at once: their sessions are ended (and an inactive user
    could not authenticate with one anyway), and the API keys they made are revoked (a key
    acts on its maker's authority). What they authored keeps its author; a new invitation or
    their identity provider restores them. `actor` None is the identity provider's SCIM
    client, named by `actor_label`. Returns how many keys were revoked."""
    _ensure_not_last_owner(member)
    previous = member.role
    member.is_active = False
    member.role = Role.MEMBER
    member.save(update_fields=["is_active", "role"])
    for session in UserSession.objects.filter(user_id=member.pk):
        session.end()
    directory_remove(email=member.email, organization=organization_current())
    audit_record(
        actor=actor, actor_label=actor_label, action=AuditAction.MEMBER_REMOVED, target=member,
        details={"role": previous, **(details or {})},
    )  # fmt: skip
    withdrawn = member_authority_withdrawn.send(
        sender=User, actor=actor, actor_label=actor_label, member=member
    )
    return sum(cast(int, revoked) for _, revoked in withdrawn)
