"""Members -> Integrations in headless Chromium at 1280 and 390 px: "Add to Slack" through
the local Slack-format server's approval page and back, the installed state, and removal.
No sideways scrolling, no serious axe-core violation; screenshots in artifacts/."""

from typing import Any

from playwright.sync_api import Page, expect

from localdev.slack_server import SlackLocal
from tests.factories import MEMBER_PASSWORD
from tests.integrations.conftest import SlackOrg
from tests.live import (
    ARTIFACTS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)


def _checked(page: Page, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        assert overflow_px(page) == 0, f"{name} at {width}"
        assert serious_violations(page) == [], f"{name} at {width}"
        page.screenshot(path=ARTIFACTS / f"integrations-{name}-{width}.png", full_page=True)


def test_admin_adds_and_removes_the_slack_app_in_the_browser(
    slack_org: SlackOrg, not_installed: SlackLocal, settings: Any
):
    port = free_port()
    environment = {
        "SLACK_API_BASE_URL": not_installed.api_url,
        "SLACK_AUTHORIZE_URL": not_installed.authorize_url,
    }
    with uvicorn_running(port, **environment), chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        base = f"http://{slack_org.host}:{port}"
        page.goto(base + "/accounts/login/")
        page.locator("input[name=login]").fill(slack_org.admin.email)
        page.locator("input[name=password]").fill(MEMBER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(base + "/members/")
        page.get_by_role("link", name="Integrations").click()
        expect(page.get_by_role("heading", name="Slack")).to_be_visible()
        _checked(page, "slack-not-added")

        page.get_by_label("Handbook").check()
        page.get_by_role("button", name="Add to Slack").click()

        expect(page.get_by_test_id("slack-installed")).to_contain_text("Local Slack")
        expect(page.get_by_text("The Slack app is added to “Local Slack”")).to_be_visible()
        expect(page.get_by_label("Handbook")).to_be_checked()
        expect(page.get_by_label("Finance")).not_to_be_checked()
        _checked(page, "slack-added")

        page.get_by_role("button", name="Remove from Slack").click()
        expect(page.get_by_text("The Slack app is removed from “Local Slack”")).to_be_visible()
        expect(page.get_by_role("button", name="Add to Slack")).to_be_visible()
    assert not_installed.tokens == {}
