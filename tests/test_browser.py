"""A person in a real browser: sign up an organization, land on its dashboard, sign out.

Runs the ASGI server (uvicorn) as its own process against the test database, and
headless Chromium (Debian's package) driven by Playwright.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(django_db_setup: None, django_db_blocker) -> Iterator[str]:
    database = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{quote(database['HOST'], safe='')}"
            f":{database['PORT']}/{database['NAME']}"
        ),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "saas.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    yield f"http://localhost:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser.new_page(viewport={"width": 1280, "height": 860})
        browser.close()


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

    page.get_by_text("founder@browser.example").click()
    page.get_by_test_id("sign-out").click()
    page.get_by_role("button", name="Sign Out").click()
    expect(page.get_by_role("heading", name="Sign in to Browser Co")).to_be_visible()
    page.goto(page.url.split("/accounts/")[0] + "/")
    expect(page).to_have_url(re.compile(r".*/accounts/login/\?next=/$"))
    page.screenshot(path=ARTIFACTS / "signed-out.png", full_page=True)
