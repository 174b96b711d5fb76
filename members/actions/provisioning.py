"""Provisioning by the organization's identity provider over SCIM (members.scim speaks the
protocol; this module does the changes): its bearer tokens, and the members and groups its
directory creates, changes, deactivates and deletes. Every change is audited in its own
transaction, with the token that made it as the actor's name."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import CapReached, cap_ensure
from members.actions.membership import MembershipError, member_deactivate, organization_current
from members.models import ProvisionedGroup, ProvisionedMember, ProvisioningToken
from members.selectors import identity_provider_get
from members.tokens import SCIM_TOKEN_PREFIX, secret_hash
from tenants.services import directory_add, directory_remove


class ProvisioningError(Exception):
    """A refused provisioning change: `detail` is a sentence for the identity provider's
    administrator, `status` and `scim_type` what SCIM's error schema carries."""

    def __init__(self, detail: str, *, status: int = 400, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.status, self.scim_type = detail, status, scim_type


def _conflict(detail: str) -> ProvisioningError:
    return ProvisioningError(detail, status=409, scim_type="uniqueness")


@dataclass(frozen=True)
class IssuedToken:
    token: ProvisioningToken
    secret: str  # the whole token, shown once and never stored


@dataclass(frozen=True)
class MemberRecord:
    """A person as the identity provider's directory describes them."""

    user_name: str
    email: str
    given_name: str
    family_name: str
    full_name: str  # what the product shows: the formatted name, or the parts joined
    external_id: str
    active: bool

    def link_fields(self) -> dict[str, str]:
        return {
            "user_name": self.user_name, "external_id": self.external_id,
            "given_name": self.given_name[:150], "family_name": self.family_name[:150],
        }  # fmt: skip


def _ensure_owner(actor: User) -> None:
    if not (actor.is_active and actor.role == Role.OWNER):
        raise MembershipError("Only an owner can make or revoke SCIM tokens.")


@transaction.atomic
def provisioning_token_create(*, actor: User) -> IssuedToken:
    _ensure_owner(actor)
    prefix = secrets.token_hex(4)
    while ProvisioningToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    secret = f"{SCIM_TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ProvisioningToken.objects.create(
        prefix=prefix, secret_hash=secret_hash(secret), created_by=actor
    )
    audit_record(
        actor=actor, action=AuditAction.PROVISIONING_TOKEN_CREATED, target=token,
        details={"prefix": prefix},
    )  # fmt: skip
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def provisioning_token_revoke(*, actor: User, token: ProvisioningToken) -> ProvisioningToken:
    """The token stops working on its next request."""
    _ensure_owner(actor)
    token = ProvisioningToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action=AuditAction.PROVISIONING_TOKEN_REVOKED, target=token,
            details={"prefix": token.prefix},
        )  # fmt: skip
    return token


def provisioning_token_touch(*, token: ProvisioningToken) -> None:
    """Record a use, at most once a minute (a sync of thousands of people writes little)."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ProvisioningToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def _actor_label(token: ProvisioningToken) -> str:
    return f"SCIM (token {token.prefix}…)"


def _default_role() -> str:
    provider = identity_provider_get()
    return provider.default_role if provider is not None else Role.MEMBER


def _seat_ensure() -> None:
    try:
        cap_ensure(organization=organization_current(), meter="members")
    except CapReached as refusal:
        raise ProvisioningError(
            f"{refusal.summary} Nobody more can be given access until an owner or billing "
            "admin upgrades the plan or someone is deactivated.",
            status=403,
        ) from None


def _user_name_ensure_free(user_name: str, *, member: User | None = None) -> None:
    taken = ProvisionedMember.objects.filter(user_name__iexact=user_name)
    if member is not None:
        taken = taken.exclude(user=member)
    if taken.exists():
        raise _conflict(f"Another member already has the userName “{user_name}”.")


def _email_ensure_free(email: str, *, member: User) -> None:
    if User.objects.filter(email__iexact=email).exclude(pk=member.pk).exists():
        raise _conflict(f"Another account here already has the address {email}.")


def _email_set(member: User, email: str) -> None:
    """The member's sign-in address becomes `email`, verified: the directory vouches for it."""
    EmailAddress.objects.filter(user_id=member.pk).delete()
    EmailAddress.objects.create(user=member, email=email, primary=True, verified=True)
    member.email = email


@transaction.atomic
def provisioned_member_create(*, token: ProvisioningToken, record: MemberRecord) -> User:
    """A new member with the single sign-on's default role (member without one), or a removed
    member given their access back (what they authored is still theirs). An active member
    with the address is a conflict: the directory should find them by userName first."""
    email = record.email.strip().lower()
    _user_name_ensure_free(record.user_name)
    member = User.objects.select_for_update().filter(email__iexact=email).first()
    if member is not None and (member.is_active or member.is_service_account):
        raise _conflict(
            f"{email} is already a member of {organization_current().name}. Look them up with "
            f'filter=userName eq "{email}" and update them instead.'
        )
    if record.active:
        _seat_ensure()
    if member is None:
        member = User.objects.create_user(email=email, password=None, role=_default_role())
        _email_set(member, email)
    member.full_name = record.full_name[:150]
    member.role = _default_role()
    member.is_active = record.active
    member.save()
    ProvisionedMember.objects.update_or_create(user=member, defaults=record.link_fields())
    if record.active:
        directory_add(email=email, organization=organization_current())
    audit_record(
        actor=None, actor_label=_actor_label(token), action=AuditAction.MEMBER_JOINED,
        target=member,
        details={"role": member.role, "via": "SCIM", "user_name": record.user_name,
                 "active": str(record.active).lower()},
    )  # fmt: skip
    return member


@transaction.atomic
def provisioned_member_update(
    *, token: ProvisioningToken, member: User, record: MemberRecord
) -> User:
    """Bring the member in line with the directory's record. Deactivation (active false) takes
    their access away at once (members.actions.membership.member_deactivate); activation
    gives it back, as a seat of the plan."""
    member = User.objects.select_for_update().get(pk=member.pk)
    email = record.email.strip().lower()
    link = ProvisionedMember.objects.filter(user=member).first()
    before = {
        "email": member.email,
        "full_name": member.full_name,
        "user_name": link.user_name if link else member.email,
        "external_id": link.external_id if link else "",
    }
    after = {
        "email": email,
        "full_name": record.full_name[:150],
        "user_name": record.user_name,
        "external_id": record.external_id,
    }
    changes = {key: f"{before[key]} → {after[key]}" for key in before if before[key] != after[key]}
    if "user_name" in changes:
        _user_name_ensure_free(record.user_name, member=member)
    if "email" in changes:
        _email_ensure_free(email, member=member)
        if member.is_active:
            directory_remove(email=member.email, organization=organization_current())
            directory_add(email=email, organization=organization_current())
        _email_set(member, email)
    member.full_name = after["full_name"]
    member.save(update_fields=["email", "full_name"])
    ProvisionedMember.objects.update_or_create(user=member, defaults=record.link_fields())
    label = _actor_label(token)
    if changes:
        audit_record(
            actor=None, actor_label=label, action=AuditAction.MEMBER_UPDATED, target=member,
            details={"via": "SCIM", **changes},
        )  # fmt: skip
    if member.is_active and not record.active:
        _deactivate(member, label)
    elif record.active and not member.is_active:
        _seat_ensure()
        member.is_active, member.role = True, _default_role()
        member.save(update_fields=["is_active", "role"])
        directory_add(email=member.email, organization=organization_current())
        audit_record(
            actor=None, actor_label=label, action=AuditAction.MEMBER_JOINED, target=member,
            details={"role": member.role, "via": "SCIM", "returned": "yes"},
        )  # fmt: skip
    return member


def _deactivate(member: User, label: str) -> None:
    try:
        member_deactivate(actor=None, actor_label=label, member=member, details={"via": "SCIM"})
    except MembershipError as refusal:
        raise ProvisioningError(str(refusal), scim_type="mutability") from None


@transaction.atomic
def provisioned_member_delete(*, token: ProvisioningToken, member: User) -> None:
    """Deactivate the member and forget the directory's record of them: they are no longer a
    SCIM resource. Their account stays, inactive, so what they authored keeps its author."""
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.is_active:
        _deactivate(member, _actor_label(token))
    ProvisionedMember.objects.filter(user=member).delete()


def _group_name_ensure_free(name: str, *, group: Group | None = None) -> None:
    taken = Group.objects.filter(name__iexact=name)
    if group is not None:
        taken = taken.exclude(pk=group.pk)
    if taken.exists():
        raise _conflict(f"A group called “{name}” exists already.")


def _people_of(member_ids: Iterable[str]) -> list[User]:
    wanted = set(member_ids)
    numeric = [int(value) for value in wanted if value.isdigit()]
    people = list(User.objects.filter(pk__in=numeric, is_service_account=False))
    unknown = wanted - {str(person.pk) for person in people}
    if unknown:
        raise ProvisioningError(
            f"No member has the id {', '.join(sorted(unknown))}: provision them as Users first.",
            scim_type="invalidValue",
        )
    return people


def _members_set(group: Group, people: list[User], label: str) -> None:
    current = set(group.user_set.all())
    for person in sorted(set(people) - current, key=lambda user: user.pk):
        group.user_set.add(person)
        audit_record(
            actor=None, actor_label=label, action=AuditAction.GROUP_MEMBER_ADDED, target=group,
            details={"member": person.email, "via": "SCIM"},
        )  # fmt: skip
    for person in sorted(current - set(people), key=lambda user: user.pk):
        group.user_set.remove(person)
        audit_record(
            actor=None, actor_label=label, action=AuditAction.GROUP_MEMBER_REMOVED, target=group,
            details={"member": person.email, "via": "SCIM"},
        )  # fmt: skip


@transaction.atomic
def provisioned_group_create(
    *, token: ProvisioningToken, name: str, external_id: str, member_ids: Iterable[str]
) -> Group:
    name = name.strip()[:150]
    _group_name_ensure_free(name)
    people = _people_of(member_ids)
    group = Group.objects.create(name=name)
    ProvisionedGroup.objects.create(group=group, external_id=external_id)
    label = _actor_label(token)
    audit_record(
        actor=None, actor_label=label, action=AuditAction.GROUP_CREATED, target=group,
        details={"via": "SCIM"},
    )  # fmt: skip
    _members_set(group, people, label)
    return group


@transaction.atomic
def provisioned_group_update(
    *,
    token: ProvisioningToken,
    group: Group,
    name: str,
    external_id: str,
    member_ids: Iterable[str],
) -> Group:
    """Rename the group and make its members the directory's: the workspaces granted to the
    group follow (the access policy reads group membership on every request)."""
    group = Group.objects.select_for_update().get(pk=group.pk)
    name = name.strip()[:150]
    label = _actor_label(token)
    people = _people_of(member_ids)
    if name != group.name:
        _group_name_ensure_free(name, group=group)
        audit_record(
            actor=None, actor_label=label, action=AuditAction.GROUP_RENAMED, target=group,
            details={"from": group.name, "to": name, "via": "SCIM"},
        )  # fmt: skip
        group.name = name
        group.save(update_fields=["name"])
    ProvisionedGroup.objects.update_or_create(group=group, defaults={"external_id": external_id})
    _members_set(group, people, label)
    return group


@transaction.atomic
def provisioned_group_delete(*, token: ProvisioningToken, group: Group) -> None:
    audit_record(
        actor=None, actor_label=_actor_label(token), action=AuditAction.GROUP_DELETED,
        target=group, details={"via": "SCIM"},
    )  # fmt: skip
    group.delete()
