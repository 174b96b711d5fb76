"""An owner in a real browser invites several people at once, reads what happened to each,
copies a pending invitation's link, resends it and changes its role; a visitor on the public
page sees the plans and gets an address suggested from the organization's name. At a phone's
and a laptop's width, with screenshots in artifacts/, nothing scrolling sideways and no
serious axe-core violation."""

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from billing.models import BillingAccount
from members.actions.signup import organization_signup
from members.models import Invitation
from saas.celery import app as celery_app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.live import (
    ARTIFACTS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)

WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def live(django_db_setup, django_db_blocker) -> Iterator[dict]:
    port = free_port()
    with django_db_blocker.unblock():
        organization, _owner = organization_signup(
            name="Invite Co", slug="invite-co", owner_email="owner@invite.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        schema_public_activate()
    with uvicorn_running(port):
        yield {
            "public": f"http://localhost:{port}",
            "url": f"http://invite-co.localhost:{port}",
            "organization": organization,
        }
    # The invitation emails queued by the live server would otherwise wait for whichever
    # test's worker runs next, for an organization gone by then.
    celery_app.control.purge()
    with django_db_blocker.unblock():
        schema_public_activate()
        BillingAccount.objects.filter(organization=organization).delete()
        Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _checked(page: Page, name: str, width: int) -> None:
    (ARTIFACTS / "members").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "members" / f"{name}-{width}.png", full_page=True)
    assert serious_violations(page) == []
    assert overflow_px(page) == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_owner_invites_several_then_copies_resends_and_changes_a_role(
    db: None, live: dict, width: int
):
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live["url"])
        page = context.new_page()
        page.goto(live["url"] + "/accounts/login/")
        page.locator("input[name=login]").fill("owner@invite.example")
        page.locator("input[name=password]").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.goto(live["url"] + "/members/")

        page.get_by_text("What each role may do").click()
        expect(page.get_by_text("Chooses the plan, manages payment and invoices")).to_be_visible()
        page.get_by_label("Email addresses").fill(
            f"ann{width}@example.com, bob{width}@example.com\nnot-an-address"
        )
        page.get_by_role("button", name="Send invitations").click()
        outcomes = page.locator(".invite-outcomes")
        expect(outcomes).to_contain_text(f"ann{width}@example.com: invitation sent.")
        expect(outcomes).to_contain_text(f"bob{width}@example.com: invitation sent.")
        expect(outcomes).to_contain_text("not-an-address: not invited: this is not an email")
        expect(page.get_by_label("Email addresses")).to_have_value("not-an-address")
        _checked(page, "invited", width)

        page.get_by_role("button", name=f"Copy link for ann{width}@example.com").click()
        expect(page.locator("#copy-status")).to_have_text(
            "Invitation link copied. Paste it into a message to the invitee."
        )
        copied = page.evaluate("navigator.clipboard.readText()")
        page.get_by_role("button", name=f"Resend to ann{width}@example.com").click()
        expect(
            page.get_by_text(f"The invitation was sent again to ann{width}@example.com.")
        ).to_be_visible()
        # The people table was just swapped in: let htmx finish settling it (and bind its
        # change trigger) before choosing, as no person could choose sooner.
        page.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        )
        page.get_by_label(f"Role bob{width}@example.com will have").select_option("Admin")
        expect(page.get_by_text(f"bob{width}@example.com will join as admin.")).to_be_visible()
        _checked(page, "pending", width)
        context.close()

        visitor = browser.new_page(viewport={"width": width, "height": 900})
        visitor.goto(copied)
        expect(visitor.get_by_text(f"ann{width}@example.com")).to_be_visible()
    with tenant_context(live["organization"]):
        assert Invitation.objects.get(email=f"bob{width}@example.com").role == "admin"


@pytest.mark.parametrize("width", WIDTHS)
def test_visitor_sees_plans_and_an_address_suggested_and_checked_as_they_type(
    db: None, live: dict, width: int
):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(live["url"].replace("invite-co.", "") + "/find/")
        if width < 768:  # phones: the links are behind "Menu"
            page.get_by_test_id("menu").click()
        page.get_by_role("button", name="Start free").locator("visible=true").click()
        expect(page).to_have_url(live["public"] + "/#start")

        expect(page.get_by_role("heading", name="Plans")).to_be_visible()
        expect(page.locator('[data-plan="free"]')).to_contain_text("$0 / month")
        shot = page.get_by_role("img", name="The Ask page", exact=False)
        shot.scroll_into_view_if_needed()
        assert shot.evaluate("image => image.complete && image.naturalWidth") == 1280
        page.get_by_label("Organization name").press_sequentially("Invite Co")
        expect(page.get_by_label("Address")).to_have_value("invite-co")
        expect(page.locator("#slug-feedback")).to_contain_text("taken")
        page.get_by_label("Organization name").press_sequentially(" North")
        expect(page.get_by_label("Address")).to_have_value("invite-co-north")
        expect(page.locator("#slug-feedback")).to_contain_text(
            "invite-co-north.localhost is available"
        )
        page.get_by_label("Address").fill("my-own")
        page.get_by_label("Organization name").press_sequentially("!")
        expect(page.get_by_label("Address")).to_have_value("my-own")
        _checked(page, "public", width)
        assert errors == []
