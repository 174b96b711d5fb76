"""Writes: Stripe customers, Checkout and portal sessions, and the webhook events that
move an organization's subscription state."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record_in
from billing import stripe_gateway
from billing.models import BillingAccount, DailyQuestions, Plan, StripeEvent, SubscriptionStatus
from billing.selectors import billing_account_get, plan_free
from billing.stripe_gateway import SubscriptionSnapshot, WebhookEvent
from tenants.models import Organization

logger = logging.getLogger(__name__)

HANDLED_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
)


class BillingError(Exception):
    """A billing action that could not be done; the message is shown to the user."""


def billing_account_create(*, organization: Organization) -> BillingAccount:
    """A new organization's account, on the Free plan until it subscribes."""
    return BillingAccount.objects.create(organization=organization, plan=plan_free())


@transaction.atomic
def customer_ensure(*, organization: Organization, email: str) -> str:
    """The organization's Stripe customer id, creating the customer the first time only."""
    # The row lock makes a second, concurrent first checkout wait and reuse the customer.
    account = BillingAccount.objects.select_for_update().get(organization=organization)
    if not account.stripe_customer_id:
        account.stripe_customer_id = stripe_gateway.customer_create(
            organization_id=organization.pk, name=organization.name, email=email
        )
        account.save(update_fields=["stripe_customer_id"])
    return account.stripe_customer_id


def checkout_start(
    *, organization: Organization, plan: Plan, email: str, success_url: str, cancel_url: str
) -> str:
    """The Stripe Checkout URL that subscribes the organization to `plan`."""
    try:
        customer_id = customer_ensure(organization=organization, email=email)
        _session_id, url = stripe_gateway.checkout_session_create(
            customer_id=customer_id,
            price_id=plan.stripe_price_id,
            organization_id=organization.pk,
            plan_slug=plan.slug,
            success_url=success_url,
            cancel_url=cancel_url,
        )
    except stripe_gateway.GatewayError as error:
        logger.warning("checkout for %s failed: %s", organization.slug, error)
        raise BillingError("Stripe could not be reached. Please try again in a minute.") from None
    return url


def portal_open(*, organization: Organization, email: str, return_url: str) -> str:
    """A Stripe Customer Portal session URL (cards, cancellation, invoices)."""
    try:
        customer_id = customer_ensure(organization=organization, email=email)
        return stripe_gateway.portal_session_create(customer_id=customer_id, return_url=return_url)
    except stripe_gateway.GatewayError as error:
        logger.warning("portal for %s failed: %s", organization.slug, error)
        raise BillingError("Stripe could not be reached. Please try again in a minute.") from None


class EventNotApplied(Exception):
    """A verified event that cannot be applied yet (a price no plan has, Stripe out of
    reach): it is not recorded, and the endpoint answers so that Stripe sends it again. The
    message is for the platform operator."""


@transaction.atomic
def stripe_event_apply(*, event: WebhookEvent) -> str:
    """Record a verified webhook event once and apply it; returns what happened.

    The record and the change commit together, so an event whose handling fails (or raises
    EventNotApplied) is not marked as seen and Stripe's retry gets another chance."""
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(
                event_id=event.id, type=event.type, created=event.created
            )
    except IntegrityError:
        return "replay ignored"
    account = None
    customer_id = event.customer_id
    if customer_id:
        account = (
            BillingAccount.objects.select_for_update()
            .select_related("plan", "organization")
            .filter(stripe_customer_id=customer_id)
            .first()
        )
    if event.type not in HANDLED_EVENTS:
        outcome = "not handled"
    elif account is None:
        logger.warning("Stripe event %s for unknown customer %r", event.id, customer_id)
        outcome = "unknown customer"
    else:
        record.organization = account.organization
        outcome = _apply(account=account, event=event)
    record.outcome = outcome
    record.save(update_fields=["organization", "outcome"])
    return outcome


def _apply(*, account: BillingAccount, event: WebhookEvent) -> str:
    """Apply the subscription as Stripe holds it now, not as the event describes it: events
    arrive out of order, several in one second, so only Stripe's current state is safe."""
    if event.type == "checkout.session.completed":
        account.last_checkout_session_id = event.checkout_session_id
    subscription_id = event.subscription_id
    if subscription_id:
        try:
            snapshot = stripe_gateway.subscription_retrieve(subscription_id=subscription_id)
        except stripe_gateway.GatewayError as error:
            raise EventNotApplied(f"subscription {subscription_id}: {error}") from error
        if (
            account.stripe_subscription_id not in ("", snapshot.id)
            and snapshot.status in ENDED_STATUSES
        ):
            outcome = "an earlier subscription that has ended; ignored"
        else:
            _subscription_apply(account=account, snapshot=snapshot)
            outcome = "applied"
    else:
        outcome = "no subscription; ignored"
    account.last_event_at = max(filter(None, [account.last_event_at, event.created]))
    account.save()
    return outcome


ENDED_STATUSES = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)


def _subscription_apply(*, account: BillingAccount, snapshot: SubscriptionSnapshot) -> None:
    plan = Plan.objects.filter(stripe_price_id=snapshot.price_id).first()
    if plan is None:
        raise EventNotApplied(
            f"subscription {snapshot.id} is on price {snapshot.price_id!r}, which no plan has: "
            "set it as a plan's Stripe price id in the admin, and Stripe's next retry applies it"
        )
    before = (account.plan.slug, account.status)
    account.plan = plan_free() if snapshot.status in ENDED_STATUSES else plan
    account.stripe_subscription_id = snapshot.id
    account.status = snapshot.status
    account.cancel_at_period_end = snapshot.cancel_at_period_end
    account.current_period_start = snapshot.current_period_start
    account.current_period_end = snapshot.current_period_end
    if snapshot.status == SubscriptionStatus.PAST_DUE:
        account.past_due_since = account.past_due_since or timezone.now()
    else:
        account.past_due_since = None
    if (account.plan.slug, account.status) != before:
        audit_record_in(
            organization=account.organization, action=AuditAction.PLAN_CHANGED,
            target_label=account.plan.name,
            details={
                "from_plan": before[0], "to_plan": account.plan.slug,
                "from_status": before[1], "to_status": account.status,
                "subscription": snapshot.id,
            },
        )  # fmt: skip


INTERNAL_PLAN_SLUG = "internal"
UNLIMITED = 2**31 - 1


def organization_unmetered(*, organization: Organization) -> None:
    """Put an organization the platform runs for itself (an evaluation or a benchmark) on a
    hidden plan without practical caps, so thousands of documents and questions fit."""
    plan, _ = Plan.objects.get_or_create(
        slug=INTERNAL_PLAN_SLUG,
        defaults={
            "name": "Internal (unmetered)",
            "is_public": False,
            "questions_per_period": UNLIMITED,
            "max_documents": UNLIMITED,
            "max_storage_bytes": 2**62,
            "max_members": UNLIMITED,
            "max_workspaces": UNLIMITED,
            "max_sources": UNLIMITED,
            "min_sync_interval_minutes": 0,
        },
    )
    account = billing_account_get(organization=organization)
    account.plan = plan
    account.save(update_fields=["plan"])


def billing_subscription_end(*, organization_id: int) -> str:
    """Cancel a deleted organization's Stripe subscription, if it has one; its Stripe
    customer id ("" for none), under which its invoices stay filed at Stripe."""
    account = BillingAccount.objects.filter(organization_id=organization_id).first()
    if account is None:
        return ""
    if account.stripe_subscription_id and account.status != SubscriptionStatus.CANCELED:
        stripe_gateway.subscription_cancel(subscription_id=account.stripe_subscription_id)
        account.status = SubscriptionStatus.CANCELED
        account.save(update_fields=["status"])
    return account.stripe_customer_id or ""


def billing_organization_forget(*, organization_id: int) -> None:
    """Remove a deleted organization's billing state. The ledger rows invoices are
    reconciled against (UsageDay, QuestionUsage) stay, under the organization's id."""
    DailyQuestions.objects.filter(organization_id=organization_id).delete()
    BillingAccount.objects.filter(organization_id=organization_id).delete()
