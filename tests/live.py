"""The product as a browser meets it: uvicorn in its own process on the test database, and
headless Chromium (Debian's, driven by Playwright)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.db import connection
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


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
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "saas.asgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "5"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
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
def chromium_page(height: int = 860) -> Iterator[Page]:
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
            yield browser.new_page(viewport={"width": 1280, "height": height})
        finally:
            browser.close()
