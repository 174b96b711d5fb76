"""Billing fixtures: the local Stripe-format server with the real `stripe` client pointed
at it, and webhook deliveries signed with the test secret."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from billing.models import BillingAccount, Plan
from localdev.stripe_server import StripeLocal, signature_header
from tenants.models import Organization

WEBHOOK_PATH = "/billing/stripe/webhook/"


@pytest.fixture
def stripe_server(settings: Any, public_client: Client) -> Iterator[StripeLocal]:
    """Stripe's API on a local port; events it sends are posted to our webhook endpoint
    through the test client, in the test's own thread and transaction."""

    def send(body: bytes, signature: str) -> int:
        response = public_client.post(
            WEBHOOK_PATH, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        return int(response.status_code)

    prices = {
        plan.stripe_price_id: (plan.name, plan.monthly_price_cents)
        for plan in Plan.objects.exclude(stripe_price_id="")
    }
    server = StripeLocal(
        webhook_url="http://unused.invalid/",
        webhook_secret=django_settings.STRIPE_WEBHOOK_SECRET,
        prices=prices,
        deliver_in_background=False,
        sender=send,
    ).start()
    settings.STRIPE_API_BASE = server.url
    yield server
    server.stop()


def webhook_post(
    client: Client,
    event_type: str,
    obj: dict[str, Any],
    *,
    created: int | None = None,
    event_id: str | None = None,
    secret: str | None = None,
    signed_at: int | None = None,
) -> Any:
    """POST a Stripe event to the webhook endpoint, signed (t=...,v1=HMAC-SHA256)."""
    now = int(time.time())
    event = {
        "id": event_id or f"evt_{time.monotonic_ns()}",
        "object": "event",
        "created": created or now,
        "type": event_type,
        "livemode": False,
        "data": {"object": obj},
    }
    body = json.dumps(event).encode()
    signature = signature_header(
        payload=body,
        secret=secret or django_settings.STRIPE_WEBHOOK_SECRET,
        timestamp=signed_at or now,
    )
    return client.post(
        WEBHOOK_PATH, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def subscription_object(
    *,
    customer: str,
    price: str,
    status: str = "active",
    subscription_id: str = "sub_test_1",
    period_start: int | None = None,
) -> dict[str, Any]:
    start = period_start or int(time.time()) - 3600
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": False,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_1",
                    "object": "subscription_item",
                    "price": {"id": price, "object": "price"},
                    "current_period_start": start,
                    "current_period_end": start + 30 * 86400,
                }
            ],
        },
    }


def account_with_customer(organization: Organization, customer: str) -> BillingAccount:
    account, _ = BillingAccount.objects.update_or_create(
        organization=organization,
        defaults={"plan": Plan.objects.get(slug="free"), "stripe_customer_id": customer},
    )
    return account


def plan_caps(slug: str, **caps: int) -> Plan:
    Plan.objects.filter(slug=slug).update(**caps)
    return Plan.objects.get(slug=slug)
