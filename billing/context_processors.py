from typing import Any

from django.http import HttpRequest

from accounts.models import BILLING_NOTIFIED
from billing.models import SubscriptionStatus
from billing.selectors import billing_account_get, past_due_grace_ends
from tenants.models import Organization
from tenants.schemas import tenant_current


def billing(request: HttpRequest) -> dict[str, Any]:
    """The past-due banner, for the people who can do something about it."""
    tenant = tenant_current()
    user = getattr(request, "user", None)
    if not isinstance(tenant, Organization) or tenant.schema_name == "public":
        return {}
    if getattr(user, "role", None) not in BILLING_NOTIFIED:
        return {}
    account = billing_account_get(organization=tenant)
    if account.status != SubscriptionStatus.PAST_DUE:
        return {}
    return {"billing_past_due_until": past_due_grace_ends(account=account)}
