"""The Stripe webhook endpoint: signatures checked by stripe's own code, each event once,
routed by customer, out-of-order safe, and what each event does to the organization."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from billing.models import BillingAccount, Plan, StripeEvent, SubscriptionStatus
from billing.selectors import billing_account_get, plan_effective
from localdev.stripe_server import StripeLocal
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


def subscription_on_stripe(server: StripeLocal, price: str = "price_team_monthly") -> dict:
    """A subscription as the Stripe-format server holds it (what the endpoint fetches)."""
    return server.subscription_create(customer="cus_alpha", price_id=price, metadata={})


def test_subscription_created_puts_the_organization_on_the_plan(org_a, stripe_server):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)

    stripe_server.events_send([("customer.subscription.created", subscription)])

    account = billing_account_get(organization=org_a)
    assert stripe_server.delivered == [("customer.subscription.created", 200)]
    assert account.plan.slug == "team"
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.stripe_subscription_id == subscription["id"]
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


def test_replayed_event_is_acknowledged_and_applied_once(org_a, public_client, stripe_server):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)
    subscription["status"] = "past_due"
    failed = stripe_server.invoice_create(subscription, paid=False)
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


@pytest.mark.parametrize("stale_first", [False, True])
def test_a_stale_event_in_the_same_second_cannot_regress_the_subscription(
    org_a, public_client, stripe_server, stale_first
):
    """The review's case: Business/active now; an older Team/unpaid copy of the subscription
    arrives in the same second as the newer one, before or after it."""
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server, "price_business_monthly")
    stale = {**subscription_object(customer="cus_alpha", price="price_team_monthly",
                                   status="unpaid"), "id": subscription["id"]}  # fmt: skip
    second = int(time.time())
    posts = [("customer.subscription.updated", stale), ("customer.subscription.updated",
                                                         subscription)]  # fmt: skip

    for event_type, obj in posts if stale_first else reversed(posts):
        assert webhook_post(public_client, event_type, obj, created=second).status_code == 200

    account = billing_account_get(organization=org_a)
    assert (account.plan.slug, account.status) == ("business", SubscriptionStatus.ACTIVE)


def test_event_naming_a_price_no_plan_has_is_not_acknowledged_until_a_plan_has_it(
    org_a, stripe_server, caplog
):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server, "price_mystery_monthly")
    event = stripe_server.event("customer.subscription.created", subscription)

    refused = stripe_server.deliver(event)
    untouched = billing_account_get(organization=org_a)
    Plan.objects.filter(slug="team").update(stripe_price_id="price_mystery_monthly")
    retried = stripe_server.deliver(event)  # Stripe's retry of the same event

    assert refused == 503
    assert "price_mystery_monthly" in caplog.text and "which no plan has" in caplog.text
    assert any(record.levelname == "ERROR" for record in caplog.records)
    assert untouched.plan.slug == "free"
    assert retried == 200
    assert billing_account_get(organization=org_a).plan.slug == "team"
    assert StripeEvent.objects.get(event_id=event["id"]).outcome == "applied"


def test_deleted_subscription_returns_the_organization_to_free(org_a, stripe_server):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)
    stripe_server.events_send([("customer.subscription.created", subscription)])

    stripe_server.subscription_change(subscription, "cancel", "")

    account = billing_account_get(organization=org_a)
    assert [status for _, status in stripe_server.delivered] == [200, 200]
    assert account.plan.slug == "free"
    assert account.status == SubscriptionStatus.CANCELED


def test_failed_payment_shows_admins_a_banner_then_free_caps_after_the_grace_period(
    org_a, owner_a, stripe_server, settings
):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    member = make_member(role=Role.MEMBER)
    admin = make_member(role=Role.ADMIN)
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)
    stripe_server.events_send([("customer.subscription.created", subscription)])

    stripe_server.subscription_change(subscription, "fail_payment", "")

    owner_page = signed_in(org_a, owner_a).get("/").content.decode()
    admin_page = signed_in(org_a, admin).get("/").content.decode()
    member_page = signed_in(org_a, member).get("/").content.decode()
    account = billing_account_get(organization=org_a)
    assert 'id="past-due-banner"' in owner_page
    assert 'id="past-due-banner"' in admin_page
    assert 'id="past-due-banner"' not in member_page
    assert plan_effective(account=account).slug == "team"
    assert plan_effective(account=account, now=timezone.now() + timedelta(days=8)).slug == "free"


def test_paid_invoice_after_a_failed_one_ends_the_past_due_state(org_a, stripe_server):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)
    stripe_server.events_send([("customer.subscription.created", subscription)])
    stripe_server.subscription_change(subscription, "fail_payment", "")

    stripe_server.subscription_change(subscription, "pay", "")

    account = billing_account_get(organization=org_a)
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.past_due_since is None
    assert account.plan.slug == "team"


@pytest.mark.parametrize(
    ("event_id", "obj", "sentence"),
    [
        ("evt_\x00nul", {"id": "sub_1", "customer": "cus_alpha"}, "the event's id"),
        ("evt_nul_customer", {"id": "sub_1", "customer": "cus_\x00alpha"}, "customer"),
        ("evt_nul_subscription", {"id": "sub_\x00x", "customer": "cus_alpha"}, "subscription"),
        ("evt_bad_subscription", {"id": "sub_../../x y", "customer": "cus_alpha"}, "subscription"),
        ("evt_list_customer", {"id": "sub_1", "customer": ["cus_alpha"]}, "customer"),
    ],
)
def test_signed_event_with_a_malformed_id_is_a_400_that_says_which_and_is_logged(
    org_a, public_client, stripe_server, caplog, event_id, obj, sentence
):
    account_with_customer(org_a, "cus_alpha")

    response = webhook_post(public_client, "customer.subscription.updated", obj, event_id=event_id)

    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert "Stripe webhook with a valid signature refused" in caplog.text
    assert not StripeEvent.objects.exists()
    assert billing_account_get(organization=org_a).plan.slug == "free"


def test_paid_invoice_whose_parent_is_a_string_is_a_400_not_a_crash(org_a, public_client):
    account_with_customer(org_a, "cus_alpha")
    invoice = {"id": "in_1", "object": "invoice", "customer": "cus_alpha", "parent": "sub_1"}

    response = webhook_post(public_client, "invoice.paid", invoice, event_id="evt_parent")

    assert response.status_code == 400
    assert "parent" in response.content.decode()
    assert not StripeEvent.objects.filter(event_id="evt_parent").exists()


def test_paid_invoice_naming_its_subscription_under_parent_applies_it(org_a, stripe_server):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)
    invoice = stripe_server.invoice_create(subscription, paid=True)
    invoice.pop("subscription", None)
    invoice["parent"] = {
        "type": "subscription_details",
        "subscription_details": {"subscription": subscription["id"]},
    }

    stripe_server.events_send([("invoice.paid", invoice)])

    assert stripe_server.delivered == [("invoice.paid", 200)]
    assert billing_account_get(organization=org_a).plan.slug == "team"


def test_event_whose_subscription_stripe_cannot_be_reached_for_is_retried_later(
    org_a, public_client, stripe_server, settings
):
    account_with_customer(org_a, "cus_alpha")
    subscription = subscription_on_stripe(stripe_server)
    stripe_server.stop()  # Stripe out of reach: a transient failure, Stripe should retry

    response = webhook_post(
        public_client, "customer.subscription.updated", subscription, event_id="evt_later"
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3600"
    assert not StripeEvent.objects.filter(event_id="evt_later").exists()
