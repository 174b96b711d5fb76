"""Every page, as a phone, a tablet and a laptop show it: nothing scrolls sideways and axe-core
finds no serious or critical accessibility violation, in the light and the dark colour scheme.
Screenshots of each page at each width go to artifacts/pages/.

The organization is one a customer would have after some months, made through the real
services: long names (organization, owner, workspace, documents, tags), the sample handbook
and forty more documents with tags (fifty), a paid plan with invoices on the local
Stripe-format server, an answered conversation with a long question and a long answer, feedback,
an unanswered question, a group and a document that failed; a pending invitation (a
factory's: the service would leave its email queued for whichever test's worker runs next);
and single sign-on, so that the sign-in page shows its button."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, WebError, expect

from accounts.models import User
from api.services import api_key_create
from assistant.conversations import feedback_set
from billing.models import BillingAccount, Plan, StripeEvent
from billing.services import customer_ensure
from localdev.stripe_server import StripeLocal
from members.actions.groups import group_create, group_member_add
from members.actions.invitations import invitation_token
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import ask
from tests.factories import OWNER_PASSWORD, make_identity_provider, make_invitation
from tests.files import SAMPLES, sample, upload
from tests.live import (
    ARTIFACTS,
    WIDTHS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document
from workspaces.services import document_upload, workspace_create

SHOTS = "pages"
ORGANIZATION = "Northwind Robotics & Automation Worldwide Holdings (Europe, Middle East & Africa)"
OWNER = "maximiliane.featherstonehaugh-wolfeschlegelsteinhausen@northwind-worldwide.example"
OWNER_NAME = "Maximiliane Alexandra Featherstonehaugh-Wolfeschlegelsteinhausen"
WORKSPACE = "Employee handbook, policies and procedures for every region and subsidiary"
LONG_QUESTION = (
    "How many vacation days do employees get, and does that differ for part-time staff, "
    "people on probation, or colleagues who moved between subsidiaries during the year?"
)
TOPICS = (
    "data retention obligations for subsidiaries in the European Economic Area",
    "export control screening of robotic arm shipments to distributors",
    "forklift and autonomous mobile robot right-of-way in shared warehouse aisles",
    "quarterly access recertification for production line controllers",
    "works council consultation before changes to shift patterns",
)


@dataclass(frozen=True)
class Site:
    public: str
    organization: str
    owner: str
    paths: dict[str, str]


def _webhook_sender(body: bytes, signature: str) -> int:
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    response = client.post(
        "/billing/stripe/webhook/", body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )  # fmt: skip
    return int(response.status_code)


def _paid_plan_with_invoices(organization: Organization, stripe: StripeLocal) -> None:
    """Subscribed to Team through the real client and a signed webhook, with a year's
    invoices numbered as Stripe numbers them (a customer prefix, a sequence)."""
    customer = customer_ensure(organization=organization, email=OWNER)
    team = Plan.objects.get(slug="team")
    subscription = stripe.subscription_create(
        customer=customer, price_id=team.stripe_price_id,
        metadata={"organization_id": str(organization.pk), "plan": team.slug},
    )  # fmt: skip
    for number in range(1, 13):
        invoice = stripe.invoice_create(subscription, paid=number < 12)
        invoice["number"] = f"8E3C2B1A-NWRH-{number:04d}"
    stripe.events_send([("customer.subscription.created", subscription)])


def _documents(owner: User, workspace: Any) -> list[int]:
    """The sample handbook and forty more documents with long titles and tags: fifty."""
    ids = [
        document_upload(
            actor=owner, workspace=workspace, upload=sample(path.name),
            tags="handbook, policies-and-procedures-2026", queue_ingestion=False,
        ).pk
        for path in sorted(SAMPLES.iterdir())
        if path.name != "README.md"
    ]  # fmt: skip
    for number in range(1, 51 - len(ids)):
        topic = TOPICS[number % len(TOPICS)]
        text = (
            f"Regional compliance bulletin {number}: {topic}\n\n"
            f"This bulletin sets out what changes for {topic}. Managers confirm in writing "
            f"that their teams have read it within thirty days of bulletin {number}.\n"
        )
        ids.append(
            document_upload(
                actor=owner, workspace=workspace,
                upload=upload(f"regional-compliance-bulletin-{number:02d}-{topic[:40]}.txt",
                              text.encode()),
                tags=f"compliance, emea-region-{number % 4}, bulletin-series-2026",
                queue_ingestion=False,
            ).pk
        )  # fmt: skip
    return ids


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Site]:
    port = free_port()
    with django_db_blocker.unblock():
        prices = {
            plan.stripe_price_id: (plan.name, plan.monthly_price_cents)
            for plan in Plan.objects.exclude(stripe_price_id="")
        }
    stripe = StripeLocal(
        webhook_url="http://unused.invalid/", webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        prices=prices, deliver_in_background=False, sender=_webhook_sender,
    ).start()  # fmt: skip
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("walk"), STRIPE_API_BASE=stripe.url),
    ):
        organization, owner = organization_signup(
            name=ORGANIZATION, slug="northwind-worldwide", owner_email=OWNER,
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        _paid_plan_with_invoices(organization, stripe)
        with tenant_context(organization):
            User.objects.filter(pk=owner.pk).update(full_name=OWNER_NAME)
            owner = User.objects.get(pk=owner.pk)
            workspace = workspace_create(actor=owner, name=WORKSPACE, is_open=True)
            documents_ingest(document_ids=_documents(owner, workspace))
            answer, _ = ask(organization, owner, LONG_QUESTION)
            feedback_set(user=owner, message=answer, rating=-1, comment="Which country?")
            ask(organization, owner, "Summarise the travel and expense policy", answer.conversation)
            ask(organization, owner, "What is the airspeed velocity of an unladen swallow?")
            group = group_create(actor=owner, name="Customer support, field service and returns")
            group_member_add(actor=owner, group=group, email=owner.email)
            invitation = make_invitation(
                email="new.colleague.from.the.acquired.subsidiary@northwind-worldwide.example",
                invited_by=owner,
            )
            # Single sign-on set up (not asked of an issuer): the sign-in page shows its button.
            make_identity_provider()
            # Granted on the workspace: the access page lists the key beside people and groups.
            api_key_create(
                actor=owner, name="Helpdesk integration for the EMEA service desk",
                scopes=["read", "ask"], workspace_ids=[workspace.pk],
            )  # fmt: skip
            failed = document_upload(
                actor=owner, workspace=workspace, upload=upload("empty.txt", b""),
                queue_ingestion=False,
            )  # fmt: skip
            documents_ingest(document_ids=[failed.pk])
            with_table = Document.objects.get(
                workspace=workspace, original_name__startswith="travel"
            )
            citation = answer.citations.order_by("marker").first()
            assert citation is not None
            slug = workspace.slug
            paths = {
                "dashboard": "/",
                "workspace-new": "/workspaces/new/",
                "documents": f"/w/{slug}/",
                "document": f"/w/{slug}/documents/{with_table.pk}/",
                "document-failed": f"/w/{slug}/documents/{failed.pk}/",
                "access": f"/w/{slug}/access/",
                "retrieval-test": f"/w/{slug}/search/?q=hotel+limit+in+London",
                "members": "/members/",
                "groups": "/members/groups/",
                "single-sign-on": "/members/single-sign-on/",
                "api-keys": "/members/api-keys/",
                "embedding-model": "/embedding-model/",
                "api-docs": "/api/v1/docs/",
                "billing": "/billing/",
                "spend": "/ask/spend/",
                "ask": "/ask/",
                "conversation": f"/ask/c/{answer.conversation_id}/",
                "source": f"/ask/sources/{citation.pk}/",
                "feedback": "/ask/feedback/",
                "gaps": "/ask/gaps/",
                "password-change": "/accounts/password/change/",
                "email": "/accounts/email/",
                "two-factor": "/accounts/2fa/",
                "invitation": f"/invite/{invitation_token(invitation=invitation)}/",
            }
    schema_public_activate()
    environment = {
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_API_KEY": settings.STRIPE_API_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
    }
    with uvicorn_running(port, **environment):
        yield Site(
            public=f"http://localhost:{port}",
            organization=f"http://{organization.slug}.localhost:{port}",
            owner=OWNER,
            paths=paths,
        )
    stripe.stop()
    with django_db_blocker.unblock():
        schema_public_activate()
        BillingAccount.objects.filter(organization=organization).delete()
        StripeEvent.objects.filter(organization=organization).delete()
        Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _open_passage(page: Page) -> None:
    page.locator("#thread a.cite").first.click()
    expect(page.get_by_test_id("passage")).to_be_visible()


def _problems(page: Page, name: str, width: int) -> list[str]:
    (ARTIFACTS / SHOTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / SHOTS / f"{name}-{width}.png", full_page=True)
    problems = [f"{name} at {width}px: {v}" for v in serious_violations(page)]
    overflow = overflow_px(page)
    if overflow > 0:
        problems.append(f"{name} at {width}px scrolls sideways by {overflow}px")
    return problems


def _walk(
    context: BrowserContext,
    base: str,
    pages: Sequence[tuple[str, str, Callable[[Page], None] | None]],
    widths: Sequence[int] = WIDTHS,
) -> list[str]:
    problems: list[str] = []

    # Console errors: a missing favicon, a script or stylesheet that failed to load.
    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error on {message.page and message.page.url}: {message.text}")

    def uncaught(error: WebError) -> None:
        problems.append(f"script error on {error.page and error.page.url}: {error.error}")

    context.on("console", console)
    context.on("weberror", uncaught)
    for width in widths:
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": 800})
        for name, path, then in pages:
            page.goto(base + path)
            page.wait_for_load_state("load")
            if then is not None:
                then(page)
            problems += _problems(page, name, width)
        page.close()
    context.remove_listener("console", console)
    context.remove_listener("weberror", uncaught)
    return problems


def _sign_in(page: Page, site: Site, email: str) -> None:
    page.goto(site.organization + "/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("link", name="Ask", exact=True)).to_be_attached()


def _menu_on_a_phone(page: Page, site: Site) -> list[str]:
    # Many phones are set to dark mode: the page must stay readable there too.
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(site.organization + "/")
    expect(page.get_by_role("link", name="Members")).to_be_hidden()
    page.get_by_test_id("menu").click()
    expect(page.get_by_role("link", name="Members")).to_be_visible()
    expect(page.get_by_test_id("menu-sign-out")).to_be_visible()
    return _problems(page, "menu-open", 360)


def _skip_link_and_wide_chat(context: BrowserContext, site: Site) -> list[str]:
    """At 1280 px: the first Tab reaches a visible "Skip to content" that moves focus to the
    page's content; with a cited passage open, the chat column stays readable."""
    problems: list[str] = []
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(site.organization + "/")
    skip = page.get_by_role("link", name="Skip to content")
    unfocused = skip.bounding_box() if skip.count() else None
    if unfocused is not None and unfocused["y"] + unfocused["height"] > 0:
        problems.append("'Skip to content' is in sight before anyone reaches it")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    box = skip.bounding_box() if skip.count() else None
    if focused != "Skip to content" or box is None or box["y"] < 0:
        problems.append(f"the first Tab reaches {focused!r}, not a visible 'Skip to content'")
    else:
        page.screenshot(path=ARTIFACTS / SHOTS / "skip-link-1280.png")
        page.keyboard.press("Enter")
        if page.evaluate("document.activeElement.id") != "content":
            problems.append("'Skip to content' does not move the focus to the content")
    page.goto(site.organization + site.paths["conversation"])
    _open_passage(page)
    chat = page.locator(".chat").bounding_box()
    width = chat["width"] if chat else 0
    if width < 560:
        problems.append(f"with the passage open at 1280px the chat is {width:.0f}px wide")
    page.close()
    return problems


# `db`: pytest-django creates the test database only for runs that include a test using it.
def test_every_page_fits_every_width_without_serious_accessibility_violations(db: None, site: Site):
    with chromium_browser() as browser:
        anonymous = browser.new_context()
        public = _walk(
            anonymous,
            site.public,
            [("signup", "/", None), ("find-organization", "/find/", None)],
        )
        signed_out = _walk(
            anonymous,
            site.organization,
            [
                ("sign-in", "/accounts/login/", None),
                ("password-reset", "/accounts/password/reset/", None),
                ("signup-closed", "/accounts/signup/", None),
                ("invitation", site.paths["invitation"], None),
            ],
        )
        context = browser.new_context()
        _sign_in(context.new_page(), site, site.owner)
        inside = [
            (name, path, _open_passage if name == "conversation" else None)
            for name, path in site.paths.items()
            if name != "invitation"
        ] + [("sign-out", "/accounts/logout/", None)]
        signed_in = _walk(context, site.organization, inside)
        menu = _menu_on_a_phone(context.new_page(), site)
        layout = _skip_link_and_wide_chat(context, site)
        context.close()

    problems = public + signed_out + signed_in + menu + layout
    assert not problems, "\n".join(problems)


MAIN_PAGES = (
    "dashboard", "documents", "document", "access", "members", "api-keys", "billing", "ask",
    "conversation", "feedback", "two-factor",
)  # fmt: skip


def test_main_pages_in_the_dark_colour_scheme_keep_their_contrast(db: None, site: Site):
    """Pico follows the device's colour scheme; our own colours follow it too."""
    with chromium_browser() as browser:
        dark = browser.new_context(color_scheme="dark")
        public = _walk(dark, site.public, [("signup-dark", "/", None)], widths=(390, 1280))
        signed_out = _walk(
            dark, site.organization, [("sign-in-dark", "/accounts/login/", None)],
            widths=(390, 1280),
        )  # fmt: skip
        _sign_in(dark.new_page(), site, site.owner)
        inside = [
            (f"{name}-dark", site.paths[name], _open_passage if name == "conversation" else None)
            for name in MAIN_PAGES
        ]
        signed_in = _walk(dark, site.organization, inside, widths=(390, 1280))
        page = dark.new_page()
        page.goto(site.organization + "/")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark.close()

    problems = public + signed_out + signed_in
    if background != "rgb(15, 17, 23)":
        problems.append(f"the page is {background} in the dark scheme, not the dark surface")
    assert not problems, "\n".join(problems)
