"""A person in a real browser asks the sample handbook a question: the answer arrives in
several steps, a citation opens the passage panel with the cited sentence marked."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.assistant.conftest import Handbook
from tests.factories import OWNER_PASSWORD
from tests.live import ARTIFACTS, chromium_page, free_port, uvicorn_running

# Every change of the streaming answer's text, recorded from the first byte of each page.
RECORD_STEPS = """
window.__steps = [];
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    const body = document.querySelector("#thread .message.assistant:last-of-type .answer-body");
    const text = body ? body.innerText.trim() : "";
    if (text && window.__steps[window.__steps.length - 1] !== text) window.__steps.push(text);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
});
"""


@pytest.fixture(scope="module")
def live_url(handbook: Handbook) -> Iterator[str]:
    port = free_port()
    with uvicorn_running(port):
        yield f"http://{handbook.organization.slug}.localhost:{port}"


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def test_question_streams_in_steps_and_a_citation_opens_the_passage(
    live_url: str, page: Page, handbook: Handbook
):
    page.add_init_script(RECORD_STEPS)
    page.goto(live_url + "/accounts/login/")
    page.locator("input[name=login]").fill(handbook.owner.email)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Ask").click()
    # Enter sends through static/js/ask.js and htmx: on a busy machine the scripts can still
    # be loading when the field is ready, and Enter would add a line instead.
    page.wait_for_load_state("load")

    page.get_by_test_id("question").fill("How many vacation days do employees get?")
    page.get_by_test_id("question").press("Enter")

    answer = page.locator("#thread .message.assistant").last
    # The server loads the embedding model at start; on a busy machine that takes a while.
    expect(answer).to_have_attribute("data-status", "done", timeout=90_000)
    expect(answer.locator(".answer-body")).to_contain_text("25 working days")
    steps = page.evaluate("window.__steps")
    growing = [s for s in steps if not s.startswith("Searching")]
    assert len(growing) >= 3, steps
    assert growing[0] != growing[-1]
    expect(answer.locator(".sources")).to_contain_text(
        "Northwind Robotics Employee Handbook: Time Off"
    )
    page.screenshot(path=ARTIFACTS / "ask-answer.png", full_page=True)

    answer.locator("a.cite").first.click()

    panel = page.get_by_test_id("passage")
    expect(panel).to_be_visible()
    expect(panel.locator("mark").first).to_be_visible()
    expect(panel.get_by_test_id("original")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "ask-passage.png")

    page.get_by_test_id("question").fill("and can I carry them over?")
    page.get_by_test_id("question").press("Enter")
    follow_up = page.locator("#thread .message.assistant").nth(1)
    expect(follow_up).to_have_attribute("data-status", "done", timeout=20_000)
    expect(follow_up.locator(".answer-body")).to_contain_text("carry over")
    page.screenshot(path=ARTIFACTS / "ask-follow-up.png", full_page=True)
