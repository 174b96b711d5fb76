"""A new owner connects a website from the pages, a real Celery worker syncs and ingests it,
and a question answered from a synced page cites it with a link to the page at its source;
in headless Chromium at 1280 and 390 px."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import Page, expect

from localdev.website_server import WebsiteLocal
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.connectors.conftest import EXPENSES, LEAVE, SECURITY
from tests.factories import OWNER_PASSWORD
from tests.live import (
    ARTIFACTS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.lanes import large_lane
from workspaces.services import workspace_create


@dataclass(frozen=True)
class Live:
    url: str  # the workspace's page
    site: WebsiteLocal
    media: Path


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Live]:
    media = tmp_path_factory.mktemp("media")
    site = WebsiteLocal().start()
    site.page("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    site.html("/help/", "Help centre", "<p>Leave, expenses and security at Example Corp.</p>",
              ("/help/leave.html", "/help/expenses.html", "/help/security.html"))  # fmt: skip
    site.html("/help/leave.html", "Leave policy", LEAVE)
    site.html("/help/expenses.html", "Expenses policy", EXPENSES)
    site.html("/help/security.html", "Security policy", SECURITY)
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        organization, owner = organization_signup(
            name="Synced Co", slug="synced-co", owner_email="owner@synced.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        from django_tenants.utils import tenant_context

        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Help", is_open=True)
        schema_public_activate()
        port = free_port()
        try:
            with (
                uvicorn_running(port, MEDIA_ROOT=str(media)),
                start_worker(
                    app, pool="solo", perform_ping_check=False,
                    queues=[settings.CELERY_TASK_DEFAULT_QUEUE, large_lane()],
                ),
            ):  # fmt: skip
                yield Live(f"http://synced-co.localhost:{port}/w/{workspace.slug}/", site, media)
        finally:
            site.stop()
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


def _signed_in_page(browser: Any, live: Live, width: int) -> Page:
    page: Page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(live.url.split("/w/")[0] + "/accounts/login/")
    page.locator("input[name=login]").fill("owner@synced.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_owner_connects_a_website_and_asks_about_a_synced_page(browser: Any, live: Live):
    page = _signed_in_page(browser, live, 1280)
    page.goto(live.url)
    page.get_by_role("button", name="Sources").click()
    expect(page.get_by_test_id("no-sources")).to_be_visible()
    page.locator("#id_start_url").fill(live.site.url("/help/"))
    website_form = page.get_by_role("region", name="Add a website")
    website_form.get_by_role("button", name="Add and sync").click()

    card = page.get_by_test_id("source-card")
    expect(card).to_be_visible()
    page.screenshot(path=ARTIFACTS / "sources-syncing-1280.png", full_page=True)
    # The card polls while the sync runs; the worker also ingests each page it adds.
    expect(card.get_by_test_id("source-state")).to_have_text("Idle", timeout=120_000)
    expect(card.get_by_test_id("source-counts")).to_contain_text("4 added")
    assert serious_violations(page) == []
    assert overflow_px(page) == 0
    page.screenshot(path=ARTIFACTS / "sources-1280.png", full_page=True)

    page.goto(live.url)
    leave_row = page.locator("tr", has_text="Leave policy")
    expect(leave_row.get_by_test_id("source-link")).to_have_attribute(
        "href", live.site.url("/help/leave.html")
    )
    expect(leave_row).to_contain_text("Ready", timeout=180_000)

    page.goto(live.url.split("/w/")[0] + "/ask/")
    page.wait_for_load_state("load")
    page.get_by_test_id("question").fill("How many days of paid leave do employees get?")
    page.get_by_test_id("question").press("Enter")
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=120_000)
    expect(answer.locator(".answer-body")).to_contain_text("25 days")
    answer.locator("a.cite").first.click()
    panel = page.get_by_test_id("passage")
    expect(panel.get_by_test_id("source")).to_have_attribute(
        "href", live.site.url("/help/leave.html")
    )
    page.screenshot(path=ARTIFACTS / "sources-citation-1280.png", full_page=True)


def test_sources_page_on_a_phone(browser: Any, live: Live):
    page = _signed_in_page(browser, live, 390)
    page.goto(live.url + "sources/")

    expect(page.locator("h1")).to_have_text("Sources")
    assert overflow_px(page) == 0
    assert serious_violations(page) == []
    page.screenshot(path=ARTIFACTS / "sources-390.png", full_page=True)
