"""Our members and groups as SCIM resources (RFC 7643, through scim2-models), and the
directory's records read back out of them."""

from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from scim2_models import Context, Email, EnterpriseUser, GroupMember, Meta, Name, ScimPolicy
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUserBase

from accounts.models import User
from members.actions.provisioning import MemberRecord, ProvisioningError
from members.models import ProvisionedGroup, ProvisionedMember

# Microsoft Entra sends its enterprise extension with every user.
ScimUser = ScimUserBase[EnterpriseUser]

# What the identity providers send that the RFCs do not: Entra's "remove" with the members to
# remove as its value and its patches on emails[type eq "work"] of a user without one;
# attributes we keep nothing of (Okta's locale and password, custom extensions) are dropped.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def _link(member: User) -> ProvisionedMember | None:
    try:
        return member.provisioning
    except ProvisionedMember.DoesNotExist:
        return None


def user_resource(member: User, *, location: str) -> ScimUser:
    link = _link(member)
    return ScimUser(
        id=str(member.pk),
        external_id=(link.external_id or None) if link else None,
        # A member invited by hand is found by their address until a directory links them.
        user_name=link.user_name if link else member.email,
        name=Name(
            formatted=member.full_name or None,
            given_name=(link.given_name or None) if link else None,
            family_name=(link.family_name or None) if link else None,
        ),
        display_name=member.full_name or None,
        active=member.is_active,
        emails=[Email(value=member.email, type=Email.Type.work, primary=True)],
        meta=Meta(resource_type="User", created=member.date_joined, location=location),
    )


def group_resource(group: Group, *, location: str) -> ScimGroup:
    try:
        external_id = group.provisioning.external_id or None
    except ProvisionedGroup.DoesNotExist:
        external_id = None
    return ScimGroup(
        id=str(group.pk),
        external_id=external_id,
        display_name=group.name,
        # No $ref: Entra removes members by {"$ref": null, "value": id}, which a $ref here
        # would keep from matching.
        members=[
            GroupMember(value=str(person.pk), display=person.email, type="User", ref=None)
            for person in sorted(group.user_set.all(), key=lambda user: user.pk)
        ],
        meta=Meta(resource_type="Group", location=location),
    )


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _address_of(resource: ScimUser, user_name: str) -> str:
    """The member's mailbox: the primary address, else the work one, else the first; or the
    userName when it is an address itself (Okta's usual shape)."""
    emails = [email for email in resource.emails or [] if email.value]
    primary = next((email for email in emails if email.primary), None)
    work = next((email for email in emails if email.type == Email.Type.work), None)
    chosen = primary or work or (emails[0] if emails else None)
    if chosen is not None and chosen.value:
        return str(chosen.value)
    if _is_email(user_name):
        return user_name
    raise ProvisioningError(
        f"“{user_name}” is not an email address and no emails were given: members sign in "
        "with their address, so give one in emails (primary or work).",
        scim_type="invalidValue",
    )


def record_from(resource: ScimUser, *, active_when_absent: bool) -> MemberRecord:
    user_name = (resource.user_name or "").strip()
    if not user_name:
        raise ProvisioningError("userName is required.", scim_type="invalidValue")
    if len(user_name) > 254:
        raise ProvisioningError("userName is longer than 254 characters.", scim_type="invalidValue")
    name = resource.name or Name()
    given, family = (name.given_name or "").strip(), (name.family_name or "").strip()
    joined = " ".join(part for part in (given, family) if part)
    return MemberRecord(
        user_name=user_name,
        email=_address_of(resource, user_name),
        given_name=given,
        family_name=family,
        # The parts win over a formatted name: a patch on name.familyName leaves a stale
        # formatted behind.
        full_name=joined or (name.formatted or "").strip() or (resource.display_name or ""),
        external_id=(resource.external_id or "").strip()[:255],
        active=active_when_absent if resource.active is None else bool(resource.active),
    )


def group_member_ids(resource: ScimGroup) -> list[str]:
    return [str(member.value) for member in resource.members or [] if member.value]


def dump(resource: Any, **parameters: Any) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, **parameters)
