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
    # No script of the page fails while the answer streams in (ask.js once read the target
    # of the SSE extension's swaps, which have none, on every step).
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
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
    assert script_errors == []


def _sign_in_and_ask(page: Page, live_url: str, handbook: Handbook, question: str) -> None:
    page.goto(live_url + "/accounts/login/")
    page.locator("input[name=login]").fill(handbook.owner.email)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_url + "/ask/")
    page.wait_for_load_state("load")
    page.get_by_test_id("question").fill(question)
    page.get_by_test_id("question").press("Enter")
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=90_000)


def test_passage_panel_beside_the_answer_marks_what_it_used_and_closes(
    live_url: str, page: Page, handbook: Handbook
):
    _sign_in_and_ask(page, live_url, handbook, "How many vacation days do employees get?")
    answer = page.locator("#thread .message.assistant").last
    cite = answer.locator("a.cite").first
    panel = page.get_by_test_id("passage")

    cite.click()
    expect(panel).to_be_visible()
    # The answer's cited sentence, marked where the passage says it.
    expect(panel.locator("mark").first).to_contain_text("25 working days")
    expect(panel.locator("h2")).to_be_focused()
    beside, answered = page.locator("#passage-panel").bounding_box(), answer.bounding_box()
    assert beside and answered and beside["x"] >= answered["x"] + answered["width"]
    page.screenshot(path=ARTIFACTS / "passage-beside-1280.png")

    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(cite).to_be_focused()

    cite.click()
    expect(panel).to_be_visible()
    page.get_by_test_id("close-passage").click()
    expect(panel).to_have_count(0)

    cite.click()
    expect(panel).to_be_visible()
    page.get_by_test_id("question").fill("and can I carry them over?")
    page.get_by_test_id("question").press("Enter")
    expect(panel).to_have_count(0)
    follow_up = page.locator("#thread .message.assistant").nth(1)
    expect(follow_up).to_have_attribute("data-status", "done", timeout=20_000)


def test_passage_panel_is_a_bottom_sheet_on_a_phone(live_url: str, page: Page, handbook: Handbook):
    page.set_viewport_size({"width": 390, "height": 800})
    _sign_in_and_ask(page, live_url, handbook, "What is the nightly hotel limit in London?")
    # The last marker cites the table of hotel limits: its London row is what the answer used.
    page.locator("#thread .message.assistant a.cite").last.click()
    panel = page.get_by_test_id("passage")
    expect(panel).to_be_visible()
    expect(
        panel.locator("mark", has_text="London and Paris · Nightly limit: EUR 260")
    ).to_have_count(1)
    expect(panel.locator("mark", has_text="Lisbon")).to_have_count(0)

    sheet = page.locator("#passage-panel").bounding_box()
    assert sheet is not None
    assert sheet["width"] == 390 and sheet["y"] + sheet["height"] == 800
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=ARTIFACTS / "passage-sheet-390.png")
    page.get_by_role("button", name="Close the passage").click()
    expect(panel).to_have_count(0)


@pytest.mark.parametrize("width", [390, 1280])
def test_thumbs_down_asks_for_the_reason_and_the_rating_can_change(
    live_url: str, page: Page, handbook: Handbook, width: int
):
    page.set_viewport_size({"width": width, "height": 860})
    _sign_in_and_ask(page, live_url, handbook, "How much is the home office stipend?")
    feedback = page.locator("#thread .message.assistant").last.get_by_test_id("feedback")

    feedback.get_by_role("button", name="No").click()

    reason = feedback.get_by_label("What was wrong or missing?")
    expect(reason).to_be_focused()
    reason.fill("It does not say whether it is taxed.")
    feedback.get_by_role("button", name="Send comment").click()
    expect(feedback.get_by_role("status")).to_contain_text("Thanks")
    page.screenshot(path=ARTIFACTS / f"feedback-reason-{width}.png", full_page=True)
    feedback.get_by_role("button", name="Yes").click()
    expect(feedback).to_contain_text("You found this helpful")
    expect(feedback.get_by_role("button", name="Yes")).to_have_attribute("aria-pressed", "true")
    expect(feedback.get_by_label("Anything to add? (optional)")).to_have_value(
        "It does not say whether it is taxed."
    )
    page.reload()
    expect(page.get_by_test_id("feedback").last).to_contain_text("You found this helpful")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [390, 1280])
def test_an_answer_is_copied_and_rename_and_delete_are_in_view(
    live_url: str, page: Page, handbook: Handbook, width: int
):
    page.set_viewport_size({"width": width, "height": 860})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _sign_in_and_ask(page, live_url, handbook, "How much is the home office stipend?")
    answer = page.locator("#thread .message.assistant").last

    answer.get_by_test_id("copy").click()

    expect(answer.get_by_test_id("copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "home office stipend of EUR 500" in copied and "Copy answer" not in copied
    title = page.locator("#title")
    expect(title.get_by_role("button", name="Rename")).to_be_visible()
    expect(title.get_by_role("button", name="Delete")).to_be_visible()
    expect(page.locator(".conversations li[aria-current] time")).to_be_visible()
    page.screenshot(path=ARTIFACTS / f"ask-conversation-{width}.png", full_page=True)
    title.get_by_role("button", name="Rename").click()
    title.get_by_label("Conversation title").fill("Stipend")
    title.get_by_role("button", name="Save").click()
    expect(page.locator("#title h1")).to_have_text("Stipend")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_regenerate_writes_the_answer_again_in_place(live_url: str, page: Page, handbook: Handbook):
    _sign_in_and_ask(page, live_url, handbook, "How long is parental leave?")
    answer = page.locator("#thread .message.assistant").last
    answer.get_by_role("button", name="No").click()
    expect(answer.get_by_test_id("feedback")).to_contain_text("not helpful")
    page.on("dialog", lambda dialog: dialog.accept())

    answer.get_by_test_id("regenerate").click()

    again = page.locator("#thread .message.assistant")
    expect(again).to_have_count(1)
    expect(again).to_have_attribute("data-status", "done", timeout=60_000)
    expect(again.locator(".answer-body")).to_contain_text("weeks")
    expect(again.get_by_test_id("feedback")).to_contain_text("Was this helpful?")
