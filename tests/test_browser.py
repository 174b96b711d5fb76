"""A person in a real browser: sign up an organization, land on its dashboard, sign out.

Runs the ASGI server (uvicorn) as its own process against the test database, and
headless Chromium (Debian's package) driven by Playwright.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.live import ARTIFACTS, chromium_page, free_port, uvicorn_running


@pytest.fixture(scope="module")
def live_url(django_db_setup: None) -> Iterator[str]:
    port = free_port()
    with uvicorn_running(port):
        yield f"http://localhost:{port}"


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def test_visitor_signs_up_lands_on_the_dashboard_and_signs_out(live_url: str, page: Page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_url + "/")
    page.get_by_label("Organization name").fill("Browser Co")
    page.get_by_label("Address").fill("browser-co")
    expect(page.locator("#slug-feedback")).to_contain_text("browser-co.localhost is available")
    page.get_by_label("Your work email").fill("founder@browser.example")
    page.get_by_label("Password").fill("a-browser-password-42")
    page.screenshot(path=ARTIFACTS / "signup.png", full_page=True)
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("heading", name="Welcome to Browser Co")).to_be_visible()
    assert page.url.startswith("http://browser-co.localhost:")
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

    page.locator(".nav-wide").get_by_text("founder@browser.example").click()
    page.get_by_test_id("sign-out").click()
    page.get_by_role("button", name="Sign Out").click()
    expect(page.get_by_role("heading", name="Sign in to Browser Co")).to_be_visible()
    page.goto(page.url.split("/accounts/")[0] + "/")
    expect(page).to_have_url(re.compile(r".*/accounts/login/\?next=/$"))
    page.screenshot(path=ARTIFACTS / "signed-out.png", full_page=True)
