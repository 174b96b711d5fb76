import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.http import MemberRequest, service_call_flashed
from billing import stripe_gateway
from billing.forms import CheckoutForm
from billing.selectors import (
    billing_account_get,
    billing_overview,
    checkout_confirmed,
    plan_get_for_checkout,
)
from billing.services import (
    BillingError,
    EventNotApplied,
    checkout_start,
    portal_open,
    stripe_event_apply,
)
from tenants.schemas import tenant_current

logger = logging.getLogger(__name__)


def billing_role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Owners and billing admins only; to anyone else the billing pages do not exist."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can_manage_billing:  # type: ignore[union-attr]
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@billing_role_required
@require_GET
def billing(request: MemberRequest) -> HttpResponse:
    overview = billing_overview(organization=tenant_current())
    return render(request, "billing/billing.html", {"overview": overview})


@billing_role_required
@require_POST
def billing_checkout(request: MemberRequest) -> HttpResponse:
    form = CheckoutForm(request.POST)
    plan = plan_get_for_checkout(slug=form.cleaned_data["plan"]) if form.is_valid() else None
    if plan is None:
        raise Http404
    activating = request.build_absolute_uri(reverse("billing:activating"))
    url = service_call_flashed(
        request,
        lambda: checkout_start(
            organization=tenant_current(), plan=plan, email=request.user.email,
            success_url=activating + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=request.build_absolute_uri(reverse("billing:overview")),
        ),
        refused=BillingError,
    )  # fmt: skip
    return redirect(url or "billing:overview")


@billing_role_required
@require_POST
def billing_portal(request: MemberRequest) -> HttpResponse:
    url = service_call_flashed(
        request,
        lambda: portal_open(
            organization=tenant_current(), email=request.user.email,
            return_url=request.build_absolute_uri(reverse("billing:overview")),
        ),
        refused=BillingError,
    )  # fmt: skip
    return redirect(url or "billing:overview")


@billing_role_required
@require_GET
def billing_activating(request: MemberRequest) -> HttpResponse:
    """Back from Checkout: polls (HTMX) until the webhook has applied the subscription."""
    organization = tenant_current()
    session_id = request.GET.get("session_id", "")
    context = {
        "session_id": session_id,
        "confirmed": checkout_confirmed(organization=organization, session_id=session_id),
        "account": billing_account_get(organization=organization),
    }
    template = "billing/activating.html#activation" if request.htmx else "billing/activating.html"
    return render(request, template, context)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature stands in for it.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = stripe_gateway.webhook_event_construct(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except stripe_gateway.WebhookSignatureInvalid as error:
        logger.warning("Stripe webhook refused: %s", error)
        return HttpResponse("invalid signature", status=400, content_type="text/plain")
    except stripe_gateway.WebhookPayloadInvalid as error:
        logger.error("Stripe webhook with a valid signature refused: %s", error)
        return HttpResponse(f"malformed event: {error}", status=400, content_type="text/plain")
    try:
        outcome = stripe_event_apply(event=event)
    except EventNotApplied as error:
        # Not acknowledged: Stripe retries for days, and the operator reads why in the log.
        logger.error("Stripe event %s (%s) not applied: %s", event.id, event.type, error)
        return HttpResponse(
            f"not applied, retry later: {error}", status=503, content_type="text/plain",
            headers={"Retry-After": "3600"},
        )  # fmt: skip
    logger.info("Stripe event %s (%s): %s", event.id, event.type, outcome)
    return HttpResponse(outcome, content_type="text/plain")
