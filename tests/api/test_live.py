"""The API and its pages served by uvicorn (the ASGI server production runs): the answer
streamed as Server-Sent Events over real HTTP, and in headless Chromium the keys page
(create shows the key once, revoke) and the docs page, without a Content-Security-Policy
violation or a console error. Screenshots go to artifacts/api/."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import ConsoleMessage, Page, expect

from api.models import ApiKey
from tenants.schemas import schema_public_activate
from tests.api.conftest import ApiOrg, key_issue
from tests.factories import OWNER_PASSWORD
from tests.live import (
    ARTIFACTS,
    WIDTHS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
    + `at ${event.sourceFile}:${event.lineNumber} on ${location.pathname}`);
});
"""


@dataclass(frozen=True)
class Live:
    base: str  # for Chromium, which sends *.localhost to the loopback address itself
    port: int
    host: str
    secret: str

    def http(self, secret: str | None = None, **headers: str) -> httpx.Client:
        """httpx to 127.0.0.1 with the organization's Host (the resolver knows no
        *.localhost) and the key."""
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", timeout=60,
            headers={"Host": self.host, "Authorization": f"Bearer {secret or self.secret}", **headers},
        )  # fmt: skip


@pytest.fixture(scope="module")
def live(api_org: ApiOrg, django_db_blocker: Any) -> Iterator[Live]:
    with django_db_blocker.unblock():
        issued = key_issue(api_org, name="Live stream", scopes=["ask", "read"],
                           workspaces=[api_org.handbook])  # fmt: skip
        schema_public_activate()
    port = free_port()
    with uvicorn_running(port):
        host = f"{api_org.organization.slug}.localhost:{port}"
        yield Live(f"http://{host}", port, host, issued.secret)
    with django_db_blocker.unblock(), tenant_context(api_org.organization):
        ApiKey.objects.filter(pk=issued.key.pk).update(name="Live stream (done)")
    schema_public_activate()


def _events(lines: Iterator[str]) -> list[tuple[str, Any]]:
    events, kind = [], ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


def test_the_answer_streams_as_server_sent_events_over_http(db: None, live: Live):
    question = {"question": "How many vacation days do employees get per year?"}
    with (
        live.http(Accept="text/event-stream") as http,
        http.stream("POST", "/api/v1/ask/", json=question) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.iter_lines())
    partials = [data["text"] for kind, data in events if kind == "partial"]
    assert len(partials) > 1 and partials[-1].startswith(partials[0])
    kind, done = events[-1]
    assert kind == "done"
    assert done["message"]["status"] == "done" and done["message"]["citations"]
    with live.http() as http:
        listed = http.get("/api/v1/conversations/")
    assert done["conversation"]["id"] in [c["id"] for c in listed.json()["results"]]

    with live.http(Accept="text/event-stream") as http:
        refused = http.post("/api/v1/ask/", json={})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert "question" in refused.json()["errors"]


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.expose_function("cspViolation", lambda text: problems.append(text))
    page.add_init_script(REPORT_VIOLATIONS)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error on {page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


def _shot(page: Page, name: str, width: int) -> None:
    (ARTIFACTS / "api").mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 860})
    page.screenshot(path=ARTIFACTS / "api" / f"{name}-{width}.png", full_page=True)


def test_keys_page_shows_a_new_key_once_and_revokes_it_in_a_browser(
    db: None, live: Live, api_org: ApiOrg
):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        problems = _watch(page)
        page.goto(f"{live.base}/accounts/login/")
        page.locator("input[name=login]").fill(api_org.owner.email)
        page.locator("input[name=password]").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live.base}/members/")
        page.get_by_role("link", name="API keys").click()
        expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()

        page.get_by_label("Name").fill("Wiki sync")
        page.get_by_label("Ingest: upload, replace and delete documents").check()
        page.get_by_label("Handbook").check()
        page.get_by_label("Role on those workspaces").select_option("editor")
        page.get_by_role("button", name="Create key").click()
        secret = page.get_by_label("Key", exact=True)
        expect(secret).to_have_value(re.compile(r"^ka_[0-9a-f]{8}_"))
        value = secret.input_value()
        expect(page.get_by_text("shown only this once")).to_be_visible()
        for width in (390, 1280):
            _shot(page, "keys-created", width)
        with live.http(value) as http:
            works = http.get("/api/v1/workspaces/")
        assert [w["slug"] for w in works.json()] == ["handbook"]

        page.goto(f"{live.base}/members/api-keys/")
        assert value not in page.content()
        row = page.locator("tr", has_text="Wiki sync")
        expect(row).to_contain_text("ingest, read")
        expect(row).to_contain_text("Handbook")
        row.get_by_role("button", name="Revoke Wiki sync").click()
        expect(page.get_by_text("“Wiki sync” is revoked")).to_be_visible()
        expect(page.locator("tr", has_text="Wiki sync")).to_contain_text("Revoked")
        for width in (390, 1280):
            _shot(page, "keys-list", width)
        with live.http(value) as http:
            refused = http.get("/api/v1/workspaces/")
        assert refused.status_code == 401
    assert problems == []


@pytest.mark.parametrize("width", [390, 1280])
def test_the_copy_button_puts_the_new_key_on_the_clipboard(
    db: None, live: Live, api_org: ApiOrg, width: int
):
    with chromium_browser() as browser:
        context = browser.new_context(
            viewport={"width": width, "height": 860},
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        problems = _watch(page)
        page.goto(f"{live.base}/accounts/login/")
        page.locator("input[name=login]").fill(api_org.owner.email)
        page.locator("input[name=password]").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live.base}/members/api-keys/")
        page.get_by_label("Name").fill(f"Copied at {width}")
        page.get_by_label("Handbook").check()
        page.get_by_role("button", name="Create key").click()
        value = page.get_by_label("Key", exact=True).input_value()
        assert value.startswith("ka_")

        copy = page.get_by_role("button", name="Copy", exact=True)
        expect(copy).to_be_in_viewport()
        copy.click()
        expect(page.get_by_role("status")).to_have_text(re.compile("^Key copied"))
        assert page.evaluate("navigator.clipboard.readText()") == value
        assert overflow_px(page) == 0
        _shot(page, "keys-copied", width)
    assert problems == []


def test_docs_page_renders_swagger_ui_from_our_static_files_under_the_csp(db: None, live: Live):
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        problems = _watch(page)
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(live.base) else outside.append(r.url))
        page.goto(f"{live.base}/api/v1/docs/")
        expect(page.get_by_role("heading", name="Knowledge Assistant API")).to_be_visible()
        expect(page.get_by_text("/api/v1/ask/", exact=True)).to_be_visible()
        page.get_by_text("/api/v1/ask/", exact=True).click()
        expect(page.get_by_text("text/event-stream").first).to_be_attached()
        for width in WIDTHS:
            _shot(page, "docs", width)
            problems += [f"docs at {width}px: {v}" for v in serious_violations(page)]
            if overflow_px(page) > 0:
                problems.append(f"docs at {width}px scrolls sideways by {overflow_px(page)}px")
    assert not problems, "\n".join(problems)
    assert [url for url in outside if not url.startswith("data:")] == []
