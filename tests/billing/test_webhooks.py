"""The Stripe webhook endpoint: signatures checked by stripe's own code, each event once,
routed by customer, out-of-order safe, and what each event does to the organization."""

import time
from datetime import timedelta

from django.utils import timezone

from accounts.models import Role
from billing.models import BillingAccount, StripeEvent, SubscriptionStatus
from billing.selectors import billing_account_get, plan_effective
from tests.billing.conftest import account_with_customer, subscription_object, webhook_post
from tests.conftest import signed_in
from tests.factories import make_member


def test_event_with_a_wrong_signature_is_rejected_and_changes_nothing(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_alpha", price="price_team_monthly")

    response = webhook_post(
        public_client,
        "customer.subscription.created",
        obj,
        secret="whsec_someone_else",
        event_id="evt_forged",
    )

    assert response.status_code == 400
    assert billing_account_get(organization=org_a).plan.slug == "free"
    assert not StripeEvent.objects.filter(event_id="evt_forged").exists()


def test_event_signed_ten_minutes_ago_is_rejected_as_stale(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_alpha", price="price_team_monthly")

    response = webhook_post(
        public_client,
        "customer.subscription.created",
        obj,
        signed_at=int(time.time()) - 600,
    )

    assert response.status_code == 400
    assert billing_account_get(organization=org_a).plan.slug == "free"


def test_request_without_signature_header_is_rejected(public_client):
    response = public_client.post(
        "/billing/stripe/webhook/", b"{}", content_type="application/json"
    )

    assert response.status_code == 400


def test_subscription_created_puts_the_organization_on_the_plan(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_alpha", price="price_team_monthly")

    response = webhook_post(public_client, "customer.subscription.created", obj)

    account = billing_account_get(organization=org_a)
    assert response.status_code == 200
    assert account.plan.slug == "team"
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.stripe_subscription_id == "sub_test_1"
    assert account.current_period_end is not None


def test_event_for_an_unknown_customer_is_acknowledged_and_changes_nothing(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_nobody_knows", price="price_business_monthly")

    response = webhook_post(public_client, "customer.subscription.created", obj, event_id="evt_u")

    assert response.status_code == 200
    assert BillingAccount.objects.filter(plan__slug="business").count() == 0
    event = StripeEvent.objects.get(event_id="evt_u")
    assert event.organization is None
    assert event.outcome == "unknown customer"


def test_replayed_event_is_acknowledged_and_applied_once(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    failed = {"id": "in_1", "object": "invoice", "customer": "cus_alpha"}
    first = webhook_post(public_client, "invoice.payment_failed", failed, event_id="evt_fail")
    since = billing_account_get(organization=org_a).past_due_since
    BillingAccount.objects.filter(organization=org_a).update(past_due_since=None)

    replay = webhook_post(public_client, "invoice.payment_failed", failed, event_id="evt_fail")

    assert first.status_code == replay.status_code == 200
    assert since is not None
    assert replay.content == b"replay ignored"
    # The replay did not set it again.
    assert billing_account_get(organization=org_a).past_due_since is None
    assert StripeEvent.objects.filter(event_id="evt_fail").count() == 1


def test_older_subscription_update_arriving_late_is_ignored(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    now = int(time.time())
    to_business = subscription_object(customer="cus_alpha", price="price_business_monthly")
    to_team = subscription_object(customer="cus_alpha", price="price_team_monthly")

    webhook_post(public_client, "customer.subscription.updated", to_business, created=now)
    late = webhook_post(public_client, "customer.subscription.updated", to_team, created=now - 60)

    assert late.status_code == 200
    assert billing_account_get(organization=org_a).plan.slug == "business"
    assert StripeEvent.objects.get(
        type="customer.subscription.updated", created__lt=timezone.now() - timedelta(seconds=30)
    ).outcome.startswith("older")


def test_deleted_subscription_returns_the_organization_to_free(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_alpha", price="price_team_monthly")
    now = int(time.time())
    webhook_post(public_client, "customer.subscription.created", obj, created=now - 10)

    webhook_post(public_client, "customer.subscription.deleted", {**obj, "status": "canceled"})

    account = billing_account_get(organization=org_a)
    assert account.plan.slug == "free"
    assert account.status == SubscriptionStatus.CANCELED


def test_failed_payment_shows_admins_a_banner_then_free_caps_after_the_grace_period(
    org_a, owner_a, public_client, settings
):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    member = make_member(role=Role.MEMBER)
    admin = make_member(role=Role.ADMIN)
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_alpha", price="price_team_monthly")
    webhook_post(public_client, "customer.subscription.created", obj, created=int(time.time()) - 5)

    webhook_post(public_client, "invoice.payment_failed", {"id": "in_1", "customer": "cus_alpha"})

    owner_page = signed_in(org_a, owner_a).get("/").content.decode()
    admin_page = signed_in(org_a, admin).get("/").content.decode()
    member_page = signed_in(org_a, member).get("/").content.decode()
    account = billing_account_get(organization=org_a)
    assert 'id="past-due-banner"' in owner_page
    assert 'id="past-due-banner"' in admin_page
    assert 'id="past-due-banner"' not in member_page
    assert plan_effective(account=account).slug == "team"
    assert plan_effective(account=account, now=timezone.now() + timedelta(days=8)).slug == "free"


def test_paid_invoice_after_a_failed_one_ends_the_past_due_state(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    obj = subscription_object(customer="cus_alpha", price="price_team_monthly")
    now = int(time.time())
    webhook_post(public_client, "customer.subscription.created", obj, created=now - 20)
    webhook_post(
        public_client, "invoice.payment_failed", {"customer": "cus_alpha"}, created=now - 10
    )

    webhook_post(public_client, "invoice.paid", {"customer": "cus_alpha"}, created=now)

    account = billing_account_get(organization=org_a)
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.past_due_since is None
    assert account.plan.slug == "team"
