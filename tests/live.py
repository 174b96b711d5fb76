"""The product as a browser meets it: uvicorn in its own process on the test database, and
headless Chromium (Debian's, driven by Playwright)."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# axe-core from the npm registry (package.json; `make test` runs `npm ci`).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# A small phone, a common phone, a tablet, a laptop.
WIDTHS = (360, 390, 768, 1280)

# Evaluated through the DevTools protocol rather than added as a <script> element, so that a
# Content-Security-Policy without 'unsafe-inline' does not block it.
AXE_RUN = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} -- ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " " + n.failureSummary).join(" | "));
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def uvicorn_running(port: int, **environment: str) -> Iterator[None]:
    """uvicorn serving the project on `port`, against the test database."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{quote(database['HOST'], safe='')}"
            f":{database['PORT']}/{database['NAME']}"
        ),
        **environment,
    }
    # The server's log goes to a file, not a pipe: nobody reads a pipe while a test runs, and
    # once a busy test (a fuzzer's thousand refused requests, each logged) filled it, every
    # request waited on the log write and the server stood still.
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "saas.asgi:application",
             "--http", "saas.http_protocol:HttpProtocol",
             "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "5"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if server.poll() is not None:
                log.seek(0)
                raise AssertionError(log.read().decode())
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        try:
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def oidc_provider_running(
    port: int,
    *,
    redirect_uris: list[str],
    users: list[str],
    password: str,
    client_id: str,
    client_secret: str,
) -> Iterator[str]:
    """The local OpenID Connect identity provider (localdev/oidc_provider) on `port`, with
    `users` (email addresses, all with `password`) and one registered client; yields its
    issuer URL."""
    arguments = [sys.executable, "-m", "localdev.oidc_provider", "--port", str(port)]
    for uri in redirect_uris:
        arguments += ["--redirect-uri", uri]
    for user in users:
        arguments += ["--user", user]
    env = {
        **os.environ, "OIDC_PROVIDER_PASSWORD": password,
        "OIDC_PROVIDER_CLIENT_SECRET": client_secret,
    }  # fmt: skip
    provider = subprocess.Popen(
        [*arguments, "--client-id", client_id],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert provider.poll() is None, provider.stderr.read().decode() if provider.stderr else ""
        assert time.monotonic() < deadline, "the identity provider did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/o"
    finally:
        provider.terminate()
        provider.wait(timeout=15)


@contextlib.contextmanager
def chromium_page(height: int = 860) -> Iterator[Page]:
    with chromium_browser() as browser:
        yield browser.new_page(viewport={"width": 1280, "height": height})


@contextlib.contextmanager
def chromium_browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
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
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    violations: list[str] = page.evaluate(AXE_RUN)
    return violations


def overflow_px(page: Page) -> int:
    """How far the page scrolls sideways: 0 when nothing is wider than the viewport."""
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return width
