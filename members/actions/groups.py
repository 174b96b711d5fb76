"""Groups of members (workspaces are granted to them like to people)."""

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from members.actions.membership import MembershipError


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
