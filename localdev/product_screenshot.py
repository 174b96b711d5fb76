"""Retake the product screenshot shown on the public page (static/img/product.png).

Against a running product with the demo organization (`make dev`): signs in as the demo
owner in headless Chromium, asks a question of the handbook, waits for the cited answer and saves
the window at 1280 x 800.

    .venv/bin/python -m localdev.product_screenshot [http://demo.localhost:8000]
"""

import os
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "static" / "img" / "product.png"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
QUESTION = "How many vacation days do employees get?"


def main(base: str = "http://demo.localhost:8000") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "/accounts/login/")
        page.locator("input[name=login]").fill("owner@demo.example")
        page.locator("input[name=password]").fill("demo-owner-password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.goto(base + "/ask/")
        page.get_by_test_id("question").fill(QUESTION)
        page.get_by_test_id("send").click()
        answer = page.locator("#thread .message.assistant").last
        expect(answer).to_have_attribute("data-status", "done", timeout=120_000)
        page.mouse.move(0, 0)
        page.screenshot(path=TARGET)
        browser.close()
    print(f"Saved {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
