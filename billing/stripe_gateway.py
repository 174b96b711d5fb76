"""The one module that imports `stripe`: everything else gets plain Python values.

The client is built from settings (key, API version, and an API base that points it at the
local Stripe-format server in development and tests: localdev/stripe_server.py).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings


class GatewayError(Exception):
    """Stripe could not be reached or refused the request; the message is for logs."""


class WebhookSignatureInvalid(Exception):
    """A webhook whose signature, or its timestamp, does not check out."""


class WebhookPayloadInvalid(Exception):
    """A correctly signed webhook whose event lacks what every event has; the message says
    what, for the response and the log."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: datetime
    object: dict[str, Any]
    # The ids the event names, checked (empty when it names none): what the services look
    # up, store and send back to Stripe.
    customer_id: str = ""
    subscription_id: str = ""
    checkout_session_id: str = ""


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: str
    customer_id: str
    status: str
    price_id: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool


@dataclass(frozen=True)
class Invoice:
    number: str
    created: datetime
    amount_cents: int
    currency: str
    status: str
    url: str

    @property
    def amount_display(self) -> str:
        return f"{self.amount_cents / 100:,.2f} {self.currency.upper()}"


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, api_version: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=api_version,
        base_addresses={"api": api_base or stripe.DEFAULT_API_BASE},
        max_network_retries=2,
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_API_KEY:
        raise GatewayError("STRIPE_API_KEY is not set")
    return _client(settings.STRIPE_API_KEY, settings.STRIPE_API_BASE, settings.STRIPE_API_VERSION)


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def customer_create(*, organization_id: int, name: str, email: str) -> str:
    """A Stripe customer for the organization; the idempotency key makes a retry (or a
    second click racing the first) return the same customer instead of a duplicate."""
    try:
        customer = client().v1.customers.create(
            params={
                "name": name,
                "email": email,
                "metadata": {"organization_id": str(organization_id)},
            },
            options={"idempotency_key": f"customer-for-organization-{organization_id}"},
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error)) from error
    return str(customer.id)


def checkout_session_create(
    *,
    customer_id: str,
    price_id: str,
    organization_id: int,
    plan_slug: str,
    success_url: str,
    cancel_url: str,
) -> tuple[str, str]:
    """A subscription-mode Checkout session: (its id, the URL to send the buyer to)."""
    metadata = {"organization_id": str(organization_id), "plan": plan_slug}
    try:
        session = client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "line_items": [{"price": price_id, "quantity": 1}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": str(organization_id),
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            }
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error)) from error
    return str(session.id), str(session.url)


def portal_session_create(*, customer_id: str, return_url: str) -> str:
    try:
        session = client().v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": return_url}
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error)) from error
    return str(session.url)


def subscription_retrieve(*, subscription_id: str) -> SubscriptionSnapshot:
    try:
        subscription = client().v1.subscriptions.retrieve(subscription_id)
    except stripe.StripeError as error:
        raise GatewayError(str(error)) from error
    return subscription_snapshot(subscription.to_dict())


def subscription_cancel(*, subscription_id: str) -> None:
    """Cancel the subscription now (an organization being deleted). Idempotent: one that is
    canceled already is left as it is, so a retried deletion step does not fail on it."""
    if subscription_retrieve(subscription_id=subscription_id).status == "canceled":
        return
    try:
        client().v1.subscriptions.cancel(
            subscription_id, options={"idempotency_key": f"cancel-{subscription_id}"}
        )
    except stripe.StripeError as error:
        raise GatewayError(str(error)) from error


def subscription_snapshot(data: dict[str, Any]) -> SubscriptionSnapshot:
    """The fields we keep from a subscription object (an API response or an event's)."""
    items = (data.get("items") or {}).get("data") or [{}]
    item = items[0]
    price = item.get("price") or {}
    # Since API version 2025-03-31 the period lives on the subscription item; older
    # versions put it on the subscription itself.
    start = item.get("current_period_start") or data.get("current_period_start")
    end = item.get("current_period_end") or data.get("current_period_end")
    customer = data.get("customer") or ""
    return SubscriptionSnapshot(
        id=str(data["id"]),
        customer_id=str(customer["id"] if isinstance(customer, dict) else customer),
        status=str(data.get("status") or ""),
        price_id=str(price.get("id") if isinstance(price, dict) else price or ""),
        current_period_start=_timestamp(start),
        current_period_end=_timestamp(end),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
    )


def invoice_list(*, customer_id: str, limit: int = 12) -> list[Invoice]:
    try:
        invoices = client().v1.invoices.list(params={"customer": customer_id, "limit": limit})
    except stripe.StripeError as error:
        raise GatewayError(str(error)) from error
    return [
        Invoice(
            number=str(invoice.number or invoice.id),
            created=_timestamp(invoice.created) or datetime.now(tz=UTC),
            amount_cents=int(invoice.amount_paid or invoice.amount_due or 0),
            currency=str(invoice.currency or "usd"),
            status=str(invoice.status or ""),
            url=str(invoice.hosted_invoice_url or ""),
        )
        for invoice in invoices.data
    ]


def webhook_event_construct(*, payload: bytes, signature: str) -> WebhookEvent:
    """The event in a webhook request, after stripe's own check of the `Stripe-Signature`
    header (HMAC-SHA256 with our endpoint secret, timestamp within the tolerance)."""
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, api_key=settings.STRIPE_API_KEY
        )
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureInvalid(str(error)) from error
    except (ValueError, TypeError, AttributeError) as error:
        # Signed but not a JSON object (an array, a bare string): stripe cannot read it.
        raise WebhookPayloadInvalid("the event is not a JSON object") from error
    return _webhook_event(event.to_dict())


# Longer ids or types would not fit the StripeEvent columns (Stripe's are about 30).
EVENT_FIELD_MAX_CHARS = 100
# Stripe's ids and event types: a prefix, an underscore, letters and digits (types add dots).
# Anything else (a NUL byte, a slash, a space) cannot be Stripe's and must not reach the
# database or a request path.
EVENT_ID_FORMAT = re.compile(r"[A-Za-z0-9_]+")
EVENT_TYPE_FORMAT = re.compile(r"[A-Za-z0-9_.]+")


def _webhook_event(data: Any) -> WebhookEvent:
    """The fields we use, checked: a signed event can still be malformed (a bug or a test
    sender on Stripe's side, or our own secret leaked), and that is a 400, not a crash."""
    if not isinstance(data, dict):
        raise WebhookPayloadInvalid("the event is not a JSON object")
    event_id, event_type, created = data.get("id"), data.get("type"), data.get("created")
    payload = data.get("data")
    obj = payload.get("object") if isinstance(payload, dict) else None
    for name, value, form in (("id", event_id, EVENT_ID_FORMAT), ("type", event_type,
                                                                  EVENT_TYPE_FORMAT)):  # fmt: skip
        if not isinstance(value, str) or not 0 < len(value) <= EVENT_FIELD_MAX_CHARS:
            raise WebhookPayloadInvalid(
                f"the event's {name} must be a string of 1 to {EVENT_FIELD_MAX_CHARS} characters"
            )
        if not form.fullmatch(value):
            raise WebhookPayloadInvalid(
                f"the event's {name} may hold only letters, digits and underscores"
                + (" and dots" if name == "type" else "")
            )
    if isinstance(created, bool) or not isinstance(created, int) or created <= 0:
        raise WebhookPayloadInvalid("the event's created must be a positive Unix time")
    if not isinstance(obj, dict):
        raise WebhookPayloadInvalid("the event has no data.object")
    try:
        created_at = datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookPayloadInvalid("the event's created is not a plausible time") from None
    event_type = str(event_type)
    return WebhookEvent(
        id=str(event_id),
        type=event_type,
        created=created_at,
        object=dict(obj),
        customer_id=_object_id(obj.get("customer"), name="customer", prefix="cus_"),
        subscription_id=_subscription_id(event_type, obj),
        checkout_session_id=(
            _object_id(obj.get("id"), name="checkout session", prefix="cs_")
            if event_type == "checkout.session.completed"
            else ""
        ),
    )


def _subscription_id(event_type: str, obj: dict[str, Any]) -> str:
    """The subscription an event is about, wherever its type puts it."""
    if event_type.startswith("customer.subscription."):
        return _object_id(obj.get("id"), name="subscription", prefix="sub_")
    if event_type == "checkout.session.completed":
        return _object_id(obj.get("subscription"), name="subscription", prefix="sub_")
    if not event_type.startswith("invoice."):
        return ""
    # Invoices name their subscription under parent.subscription_details since API version
    # 2025-03-31; older versions (and the local server) put it on the invoice itself.
    parent = obj.get("parent") or {}
    if not isinstance(parent, dict):
        raise WebhookPayloadInvalid("the invoice's parent must be an object")
    details = parent.get("subscription_details") or {}
    if not isinstance(details, dict):
        raise WebhookPayloadInvalid("the invoice's parent.subscription_details must be an object")
    subscription = details.get("subscription") or obj.get("subscription")
    return _object_id(subscription, name="subscription", prefix="sub_")


def _object_id(value: Any, *, name: str, prefix: str) -> str:
    """A Stripe object's id, given as the id or as the expanded object; empty when absent."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return ""
    if (
        not isinstance(value, str)
        or len(value) > EVENT_FIELD_MAX_CHARS
        or not value.startswith(prefix)
        or not EVENT_ID_FORMAT.fullmatch(value)
    ):
        raise WebhookPayloadInvalid(
            f"the event's {name} is not a Stripe {name} id ({prefix}... of letters, digits "
            f"and underscores, at most {EVENT_FIELD_MAX_CHARS} characters)"
        )
    return value
