"""An owner in a real browser on Members -> Data: sets retention and reads when the next run
is; exports all data (written by a real Celery worker) and downloads the archive once;
erases a former member's data; schedules the organization's deletion (the banner says it is
read-only) and cancels it. A member downloads their own conversations from My data. At a
phone's and a laptop's width, with screenshots in artifacts/data/, nothing scrolling
sideways and no serious axe-core violation."""

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import User
from billing.models import BillingAccount
from lifecycle.models import DataExport, ExportStatus, RetentionPolicy
from members.actions.membership import member_remove
from members.actions.signup import organization_signup
from saas.celery import app as celery_app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD, make_member
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
def live(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict]:
    port = free_port()
    # The server and this process's worker share one private storage.
    media = tmp_path_factory.mktemp("data-media")
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Data Co",
            slug="data-co",
            owner_email="owner@data.example",
            owner_password=OWNER_PASSWORD,
        )
        with tenant_context(organization):
            for width in WIDTHS:
                former = make_member(email=f"former{width}@data.example")
                member_remove(actor=User.objects.get(pk=owner.pk), member=former)
        schema_public_activate()
    with uvicorn_running(port, MEDIA_ROOT=str(media)):
        yield {
            "url": f"http://data-co.localhost:{port}",
            "organization": organization,
            "media": media,
        }
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


@pytest.mark.parametrize("width", WIDTHS)
def test_owner_exports_all_data_and_downloads_it_once(db: None, live: dict, width: int, settings):
    settings.MEDIA_ROOT = live["media"]
    with chromium_browser() as browser:
        page = _signed_in_page(browser, live, width)
        page.goto(live["url"] + "/members/data/")
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
        ):
            page.get_by_role("button", name="Export all data").click()
            expect(page.get_by_text("The export has started.")).to_be_visible()
            # The list polls while the archive is written, then offers the link.
            link = page.get_by_role("link", name="Download")
            expect(link).to_be_visible(timeout=30_000)
        _checked(page, "export-ready", width)
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename.startswith("data-co-export-")
        assert download.failure() is None
        page.goto(live["url"] + "/members/data/")
        expect(page.get_by_role("link", name="Download")).to_have_count(0)
        expect(page.get_by_text("Downloaded").first).to_be_visible()
        _checked(page, "export-downloaded", width)
    with tenant_context(live["organization"]):
        assert DataExport.objects.filter(status=ExportStatus.DOWNLOADED).count() >= 1


@pytest.mark.parametrize("width", WIDTHS)
def test_person_downloads_their_conversations_from_my_data(db: None, live: dict, width: int):
    with chromium_browser() as browser:
        page = _signed_in_page(browser, live, width)
        page.goto(live["url"] + "/my-data/")
        _checked(page, "my-data", width)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download my conversations").click()
        assert download_info.value.suggested_filename == "my-conversations.zip"


@pytest.mark.parametrize("width", WIDTHS)
def test_owner_erases_a_former_member_then_schedules_and_cancels_the_deletion(
    db: None, live: dict, width: int
):
    with chromium_browser() as browser:
        page = _signed_in_page(browser, live, width)
        page.goto(live["url"] + "/members/data/")
        page.get_by_text(f"former{width}@data.example", exact=True).click()
        page.get_by_role("button", name=f"Erase former{width}@data.example's data").click()
        expect(page.get_by_text("Their personal data is erased.")).to_be_visible()
        expect(page.get_by_text(f"former{width}@data.example", exact=True)).to_have_count(0)
        _checked(page, "erased", width)

        page.get_by_label("Type the organization's address").fill("data-co")
        page.get_by_role("button", name="Delete this organization").click()
        expect(page.get_by_test_id("deletion-scheduled")).to_contain_text(
            "The organization will be deleted on"
        )
        expect(page.locator("#deletion-banner")).to_contain_text("is read-only until then")
        _checked(page, "deletion-scheduled", width)
        page.goto(live["url"] + "/members/")
        expect(page.locator("#deletion-banner")).to_be_visible()
        page.goto(live["url"] + "/members/data/")
        page.get_by_role("button", name="Cancel the deletion").click()
        expect(page.get_by_text("The deletion is cancelled.")).to_be_visible()
        expect(page.locator("#deletion-banner")).to_have_count(0)
        _checked(page, "deletion-cancelled", width)
