"""An owner in a real browser: opens Billing, sees the meters, upgrades through the local
Stripe-format server's checkout page (which sends the signed webhooks to the live server),
waits on "Activating…" and lands on the new plan.

uvicorn runs as its own process against the test database; the Stripe-format server runs
in this process and posts its webhooks to uvicorn over HTTP, as Stripe would.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from billing.models import BillingAccount, Plan, StripeEvent
from localdev.stripe_server import StripeLocal
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.live import ARTIFACTS, chromium_page, free_port, uvicorn_running


@pytest.fixture(scope="module")
def live(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """uvicorn on a free port and the Stripe-format server, each told about the other."""
    port = free_port()
    with django_db_blocker.unblock():
        prices = {
            plan.stripe_price_id: (plan.name, plan.monthly_price_cents)
            for plan in Plan.objects.exclude(stripe_price_id="")
        }
    stripe = StripeLocal(
        webhook_url=f"http://localhost:{port}/billing/stripe/webhook/",
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        prices=prices,
    ).start()
    environment = {
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_API_KEY": settings.STRIPE_API_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
    }
    with uvicorn_running(port, **environment):
        yield from _organization(port, stripe, django_db_blocker)
    stripe.stop()


def _organization(port: int, stripe: StripeLocal, django_db_blocker) -> Iterator[dict]:
    with django_db_blocker.unblock():
        organization, _owner = organization_signup(
            name="Upgrade Co", slug="upgrade-co", owner_email="owner@upgrade.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        schema_public_activate()
    yield {"url": f"http://upgrade-co.localhost:{port}", "stripe": stripe}
    with django_db_blocker.unblock():
        schema_public_activate()
        BillingAccount.objects.filter(organization=organization).delete()
        StripeEvent.objects.filter(organization=organization).delete()
        Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(height=1000) as page:
        yield page


# `db`: pytest-django creates the test database only for runs that include a test using it,
# and this test may run alone. Its own transaction is idle: uvicorn does the writing.
def test_owner_upgrades_to_team_through_checkout_and_sees_the_new_plan(
    db: None, live: dict, page: Page
):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live["url"] + "/accounts/login/")
    page.locator("input[name=login]").fill("owner@upgrade.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Billing").click()

    expect(page.locator("#current-plan")).to_contain_text("Free")
    expect(page.get_by_role("meter", name="Workspaces")).to_be_visible()
    expect(page.locator('[data-meter="questions"] .meter-figures')).to_have_text("0 / 100")
    page.screenshot(path=ARTIFACTS / "billing-free.png", full_page=True)
    page.get_by_role("button", name="Upgrade to Team").click()

    expect(page.get_by_role("heading", name="Checkout (local Stripe)")).to_be_visible()
    expect(page.locator(".amount")).to_have_text("$49.00 per month")
    page.screenshot(path=ARTIFACTS / "billing-checkout.png", full_page=True)
    page.get_by_role("button", name="Subscribe").click()

    expect(page.get_by_role("heading", name="You are on Team")).to_be_visible(timeout=20_000)
    assert "/billing/activating/?session_id=cs_test_" in page.url
    page.get_by_role("button", name="Back to Billing").click()
    expect(page.locator("#current-plan")).to_contain_text("Team")
    expect(page.locator('[data-meter="questions"] .meter-figures')).to_have_text("0 / 2,000")
    expect(page.get_by_role("cell", name="LOCAL-0001")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "billing-team.png", full_page=True)
    assert ("checkout.session.completed", 200) in live["stripe"].delivered
