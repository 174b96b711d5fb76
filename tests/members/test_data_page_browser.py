"""An owner in a real browser on Members -> Data: sets retention and reads when the next run
is. At a phone's and a laptop's width, with screenshots in artifacts/data/, nothing
scrolling sideways and no serious axe-core violation."""

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from billing.models import BillingAccount
from lifecycle.models import RetentionPolicy
from members.actions.signup import organization_signup
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
            name="Data Co", slug="data-co", owner_email="owner@data.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        schema_public_activate()
    with uvicorn_running(port):
        yield {"url": f"http://data-co.localhost:{port}", "organization": organization}
    celery_app.control.purge()
    with django_db_blocker.unblock():
        schema_public_activate()
        BillingAccount.objects.filter(organization=organization).delete()
        Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _checked(page: Page, name: str, width: int) -> None:
    (ARTIFACTS / "data").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "data" / f"{name}-{width}.png", full_page=True)
    assert serious_violations(page) == []
    assert overflow_px(page) == 0


def _signed_in_page(browser, live: dict, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(live["url"] + "/accounts/login/")
    page.locator("input[name=login]").fill("owner@data.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    return page


@pytest.mark.parametrize("width", WIDTHS)
def test_owner_sets_retention_and_sees_the_next_run(db: None, live: dict, width: int):
    with chromium_browser() as browser:
        page = _signed_in_page(browser, live, width)
        page.goto(live["url"] + "/members/")
        page.get_by_role("link", name="Data", exact=True).click()
        expect(page.get_by_role("heading", name="Retention")).to_be_visible()

        page.get_by_label("Keep conversations for").fill(str(width))
        page.get_by_label("Keep answer feedback for").fill("")
        page.get_by_role("button", name="Save retention").click()

        expect(page.get_by_text("Retention saved.")).to_be_visible()
        summary = page.get_by_test_id("retention-summary")
        expect(summary).to_contain_text(f"deleted {width} days after their last question")
        expect(summary).to_contain_text("Answer feedback: kept forever")
        expect(page.get_by_test_id("retention-next-run")).to_contain_text("03:00 UTC")
        _checked(page, "retention", width)

        page.get_by_label("Keep conversations for").fill("0")
        page.get_by_role("button", name="Save retention").click()
        expect(page.locator(".flash.error")).to_contain_text("Keep them at least 1 day")
        _checked(page, "retention-refused", width)
    with tenant_context(live["organization"]):
        assert RetentionPolicy.objects.get().conversation_days == width
