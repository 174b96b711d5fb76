"""Controlling an answer in a real browser, on a phone and a laptop: Stop, edit-and-resend,
leaving mid-answer and coming back, and a PDF citation's original opened at its page."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from tests.assistant.conftest import Handbook
from tests.factories import OWNER_PASSWORD
from tests.files import SAMPLES
from tests.live import (
    ARTIFACTS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.models import Document

GUIDE = "benefits-guide-2026.pdf"


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-media")


@pytest.fixture(scope="module")
def live_url(handbook: Handbook, media_root: Path) -> Iterator[str]:
    port = free_port()
    # A pause between the pieces of an answer, so that there is time to stop it or leave.
    with uvicorn_running(
        port, ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS="600", MEDIA_ROOT=str(media_root)
    ):
        yield f"http://{handbook.organization.slug}.localhost:{port}"


@pytest.fixture(scope="module")
def guide_stored(handbook: Handbook, media_root: Path, django_db_blocker: Any) -> None:
    """The PDF's stored file where this server keeps its files (the handbook was ingested
    with storage of its own)."""
    with django_db_blocker.unblock(), tenant_context(handbook.organization):
        guide = Document.objects.get(workspace=handbook.workspace, original_name=GUIDE)
    stored = media_root / guide.file.name
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes((SAMPLES / GUIDE).read_bytes())


@pytest.fixture(params=[390, 1280])
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    with chromium_browser() as browser:
        yield browser.new_page(viewport={"width": request.param, "height": 860})


def _sign_in(page: Page, live_url: str, handbook: Handbook) -> None:
    page.goto(live_url + "/accounts/login/")
    page.locator("input[name=login]").fill(handbook.owner.email)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_url + "/ask/")
    page.wait_for_load_state("load")


def _ask(page: Page, question: str) -> None:
    page.get_by_test_id("question").fill(question)
    page.get_by_test_id("question").press("Enter")


def _page_is_sound(page: Page) -> None:
    assert overflow_px(page) == 0
    assert serious_violations(page) == []


def _first_words_arrived(page: Page) -> None:
    answer = page.locator("#thread .message.assistant").last
    expect(answer.locator(".answer-body")).not_to_contain_text("Searching", timeout=90_000)


def test_stop_then_edit_and_resend_then_leave_and_return(
    live_url: str, page: Page, handbook: Handbook
):
    width = page.viewport_size["width"] if page.viewport_size else 0
    _sign_in(page, live_url, handbook)

    _ask(page, "What does the code of conduct say about conflicts of interest?")
    _first_words_arrived(page)
    page.get_by_test_id("stop").click()
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "stopped", timeout=10_000)
    expect(answer.get_by_test_id("answer-end")).to_contain_text("You stopped this answer")
    expect(answer.get_by_test_id("stop")).to_have_count(0)
    assert answer.locator(".answer-body").inner_text().strip()
    page.screenshot(path=ARTIFACTS / f"ask-stopped-{width}.png", full_page=True)
    _page_is_sound(page)

    # The input is free at once: the next question is asked and answered.
    _ask(page, "How many vacation days do employees get?")
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    expect(answer.locator(".answer-body")).to_contain_text("25 working days")

    # Edit the last question and ask it again: a new turn below, the original one kept.
    last_question = page.locator("#thread .message.user").last
    expect(page.get_by_test_id("edit-question").filter(visible=True)).to_have_count(1)
    last_question.get_by_test_id("edit-question").click()
    edit = last_question.locator("details.edit-question textarea")
    expect(edit).to_have_value("How many vacation days do employees get?")
    edit.fill("How long is parental leave?")
    page.screenshot(path=ARTIFACTS / f"ask-edit-question-{width}.png", full_page=True)
    _page_is_sound(page)
    last_question.get_by_test_id("resend").click()
    expect(page.locator("#thread .message.user").last).to_contain_text(
        "How long is parental leave?"
    )
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    expect(answer.locator(".answer-body")).to_contain_text("parental leave")
    expect(page.locator("#thread .message.assistant")).to_have_count(3)
    kept = page.locator("#thread .message").nth(2)
    expect(kept).to_contain_text("How many vacation days do employees get?")
    expect(page.locator("#thread .message.assistant").nth(1)).to_contain_text("25 working days")
    expect(page.get_by_test_id("edit-question").filter(visible=True)).to_have_count(1)
    page.screenshot(path=ARTIFACTS / f"ask-edited-{width}.png", full_page=True)

    # Leave mid-answer and come back: the answer was finished and stored meanwhile.
    conversation_url = page.url
    assert re.search(r"/ask/c/\d+/$", conversation_url)
    _ask(page, "What is the gift limit?")
    _first_words_arrived(page)
    page.goto(live_url + "/ask/")
    page.wait_for_timeout(3_000)
    page.goto(conversation_url)
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=60_000)
    expect(answer.locator(".sources")).to_be_visible()
    expect(answer.get_by_test_id("answer-end")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / f"ask-returned-{width}.png", full_page=True)
    _page_is_sound(page)


FETCH = """async (url) => {
  const response = await fetch(url);
  const head = new Uint8Array(await response.arrayBuffer()).slice(0, 4);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    disposition: response.headers.get("content-disposition"),
    csp: response.headers.get("content-security-policy"),
    nosniff: response.headers.get("x-content-type-options"),
    head: String.fromCharCode(...head),
  };
}"""


def test_a_pdf_citation_opens_the_original_in_the_browser_at_its_page(
    live_url: str, guide_stored: None, page: Page, handbook: Handbook
):
    width = page.viewport_size["width"] if page.viewport_size else 0
    _sign_in(page, live_url, handbook)
    _ask(page, "How much is the gym stipend in the benefits guide?")
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=90_000)

    answer.locator(".sources a.source-link", has_text="Benefits Guide").first.click()
    original = page.get_by_test_id("original")
    expect(original).to_be_visible()
    href = original.get_attribute("href") or ""
    assert re.search(r"/download/#page=\d+$", href), href
    assert original.get_attribute("target") == "_blank"
    page.screenshot(path=ARTIFACTS / f"ask-pdf-source-{width}.png")
    _page_is_sound(page)

    # What the browser gets at that address: the PDF itself, to show, sandboxed.
    got = page.evaluate(FETCH, href.split("#")[0])
    assert got == {
        "status": 200,
        "type": "application/pdf",
        "disposition": f'inline; filename="{GUIDE}"',
        "csp": "sandbox",
        "nosniff": "nosniff",
        "head": "%PDF",
    }
