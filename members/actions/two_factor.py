"""The organization's "require two-factor authentication for everyone" rule (its enforcement on
each request is members/two_factor.py)."""

from django.db import transaction

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from members.actions.membership import MembershipError, organization_current
from tenants.models import Organization


@transaction.atomic
def organization_two_factor_require(*, actor: User, required: bool) -> Organization:
    """Turn "require two-factor for everyone" on or off; owners only."""
    if not (actor.is_active and actor.role == Role.OWNER):
        raise MembershipError("Only an owner can change the organization's security settings.")
    organization = Organization.objects.select_for_update().get(pk=organization_current().pk)
    if organization.require_two_factor != required:
        audit_record(
            actor=actor, action=AuditAction.SECURITY_SETTING_CHANGED, target=organization,
            details={"setting": "require_two_factor", "from": organization.require_two_factor,
                     "to": required},
        )  # fmt: skip
        organization.require_two_factor = required
        organization.save(update_fields=["require_two_factor"])
    return organization
