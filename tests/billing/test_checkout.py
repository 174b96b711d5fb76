"""Checkout, the Customer Portal and invoices through the real `stripe` client talking to
the local Stripe-format server, with the server's signed webhooks applied by our endpoint."""

from billing.models import BillingAccount, SubscriptionStatus
from billing.selectors import billing_account_get
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in


def _session_from_url(stripe_server, url):
    return stripe_server.find(url.rsplit("/", 1)[-1], "checkout.session")


def test_upgrade_button_sends_the_owner_to_checkout_with_one_customer_per_organization(
    org_a, owner_a, stripe_server
):
    client = signed_in(org_a, owner_a)

    first = client.post("/billing/checkout/", {"plan": "team"})
    second = client.post("/billing/checkout/", {"plan": "business"})

    customers = [o for o in stripe_server.objects.values() if o["object"] == "customer"]
    assert first.status_code == second.status_code == 302
    assert first["Location"].startswith(stripe_server.url + "/checkout/cs_test_")
    assert len(customers) == 1
    assert customers[0]["metadata"] == {"organization_id": str(org_a.pk)}
    session = _session_from_url(stripe_server, second["Location"])
    assert session["mode"] == "subscription"
    assert session["customer"] == customers[0]["id"]
    assert session["price"] == "price_business_monthly"
    assert session["success_url"].endswith("/billing/activating/?session_id={CHECKOUT_SESSION_ID}")
    assert BillingAccount.objects.get(organization=org_a).stripe_customer_id == customers[0]["id"]


def test_paying_at_checkout_activates_the_plan_through_the_signed_webhooks(
    org_a, owner_a, stripe_server
):
    client = signed_in(org_a, owner_a)
    url = client.post("/billing/checkout/", {"plan": "team"})["Location"]
    session = _session_from_url(stripe_server, url)
    waiting = client.get(f"/billing/activating/?session_id={session['id']}").content.decode()

    success_url = stripe_server.checkout_pay(session)

    account = billing_account_get(organization=org_a)
    done = client.get(success_url.split("localhost", 1)[-1], HTTP_HX_REQUEST="true")
    assert "Activating" in waiting and 'hx-trigger="every 1s"' in waiting
    assert stripe_server.delivered == [
        ("customer.subscription.created", 200),
        ("invoice.paid", 200),
        ("checkout.session.completed", 200),
    ]
    assert account.plan.slug == "team"
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.last_checkout_session_id == session["id"]
    assert "You are on Team" in done.content.decode()
    assert "every 1s" not in done.content.decode()


def test_billing_page_lists_the_invoices_stripe_holds(org_a, owner_a, stripe_server):
    client = signed_in(org_a, owner_a)
    url = client.post("/billing/checkout/", {"plan": "business"})["Location"]
    stripe_server.checkout_pay(_session_from_url(stripe_server, url))

    page = client.get("/billing/").content.decode()

    assert "LOCAL-0001" in page
    assert "199.00 USD" in page
    assert "paid" in page
    assert f"{stripe_server.url}/invoices/in_" in page
    assert "You are on the <strong>Business</strong> plan" in page


def test_manage_button_opens_a_customer_portal_session(org_a, owner_a, stripe_server):
    client = signed_in(org_a, owner_a)
    client.post("/billing/checkout/", {"plan": "team"})

    response = client.post("/billing/portal/")

    assert response.status_code == 302
    portal = stripe_server.find(response["Location"].rsplit("/", 1)[-1], "billing_portal.session")
    assert portal["customer"] == billing_account_get(organization=org_a).stripe_customer_id
    assert portal["return_url"].endswith("/billing/")


def test_cancelling_in_the_portal_returns_the_organization_to_free(org_a, owner_a, stripe_server):
    client = signed_in(org_a, owner_a)
    url = client.post("/billing/checkout/", {"plan": "team"})["Location"]
    stripe_server.checkout_pay(_session_from_url(stripe_server, url))
    subscription_id = billing_account_get(organization=org_a).stripe_subscription_id

    stripe_server.subscription_change(
        stripe_server.find(subscription_id, "subscription"), "cancel", ""
    )

    assert billing_account_get(organization=org_a).plan.slug == "free"


def test_checkout_when_stripe_is_unreachable_says_so(org_a, owner_a, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    client = signed_in(org_a, owner_a)

    response = client.post("/billing/checkout/", {"plan": "team"}, follow=True)

    assert "Stripe could not be reached" in response.content.decode()


def test_free_plan_cannot_be_bought_at_checkout(org_a, owner_a, stripe_server):
    plan_caps("free", max_members=5)
    client = signed_in(org_a, owner_a)

    response = client.post("/billing/checkout/", {"plan": "free"})

    assert response.status_code == 404
