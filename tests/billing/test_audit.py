"""A plan change that a Stripe webhook applies is in the organization's audit log."""

from django_tenants.utils import tenant_context

from audit.models import AuditAction, AuditEvent
from billing.selectors import billing_account_get
from tenants.models import Organization
from tests.billing.conftest import account_with_customer


def test_a_plan_change_from_stripe_is_recorded_in_the_organization(
    org_a: Organization, stripe_server
):
    account_with_customer(org_a, "cus_alpha")
    subscription = stripe_server.subscription_create(
        customer="cus_alpha", price_id="price_team_monthly", metadata={}
    )

    stripe_server.events_send([("customer.subscription.created", subscription)])
    stripe_server.events_send([("customer.subscription.updated", subscription)])  # no change

    assert billing_account_get(organization=org_a).plan.slug == "team"
    with tenant_context(org_a):
        event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target_label) == (
        AuditAction.PLAN_CHANGED,
        None,
        "Team",
    )
    assert event.details["from_plan"] == "free"
    assert event.details["to_plan"] == "team"
    assert event.details["to_status"] == "active"
