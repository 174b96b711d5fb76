"""A new owner connects Google Drive, and SharePoint / OneDrive, by clicking through the
consent in headless Chromium: Connect -> the local Drive-format (or Microsoft-format)
server's consent page -> Allow (Accept) -> the public site's callback -> the organization's
site -> pick the folder in the list of the account's folders (opening one by HTMX) -> a real
Celery worker syncs it with the stored refresh token. The picker is checked with axe, and at
390 and 1280 pixels wide for sideways scrolling."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from localdev.drive_server import DriveLocal
from localdev.graph_server import GraphLocal
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.live import (
    ARTIFACTS,
    chromium_browser,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.lanes import large_lane
from workspaces.services import workspace_create


@dataclass(frozen=True)
class Live:
    url: str  # the workspace's page
    drive: DriveLocal
    folder_id: str
    graph: GraphLocal


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Live]:
    media = tmp_path_factory.mktemp("media")
    drive = DriveLocal().start()
    folder = drive.folder("Handbook")
    drive.add("leave.md", b"# Leave\n\nEmployees get 25 days of paid leave a year.",
              mime_type="text/markdown", parents=(folder.id,))  # fmt: skip
    drive.add("travel.txt", b"Trains are booked in second class for trips under four hours.",
              parents=(folder.id,))  # fmt: skip
    port = free_port()
    callback = f"http://localhost:{port}/sources/oauth/callback/"
    client_id, secret = drive.oauth_client([callback])
    drive.consent_account = "owner@consent.example"
    graph = GraphLocal().start()
    graph.person("owner@consent.example")
    onedrive = graph.onedrive("owner@consent.example")
    policies = graph.folder(onedrive, "Policies")
    graph.add(onedrive, "expenses.txt", b"Expenses are paid within ten working days.",
              parent=policies)  # fmt: skip
    graph.site("consent.sharepoint.com", "/sites/finance", "Finance")
    app_id, app_secret = graph.web_app([callback])
    google = {
        "GOOGLE_DRIVE_API_URL": drive.api_url(), "GOOGLE_DRIVE_TOKEN_URI": drive.token_url(),
        "GOOGLE_OAUTH_AUTHORIZE_URL": drive.authorize_url(),
        "GOOGLE_OAUTH_CLIENT_ID": client_id, "GOOGLE_OAUTH_CLIENT_SECRET": secret,
        "MICROSOFT_LOGIN_URL": graph.login_url(), "MICROSOFT_GRAPH_URL": graph.graph_url(),
        "MICROSOFT_CA_BUNDLE": graph.ca_file, "MICROSOFT_OAUTH_CLIENT_ID": app_id,
        "MICROSOFT_OAUTH_CLIENT_SECRET": app_secret,
    }  # fmt: skip
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media, **google):
        organization, owner = organization_signup(
            name="Consent Co", slug="consent-co", owner_email="owner@consent.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Handbook", is_open=True)
        schema_public_activate()
        try:
            with (
                uvicorn_running(port, MEDIA_ROOT=str(media), **google),
                start_worker(
                    app, pool="solo", perform_ping_check=False,
                    queues=[settings.CELERY_TASK_DEFAULT_QUEUE, large_lane()],
                ),
            ):  # fmt: skip
                yield Live(f"http://consent-co.localhost:{port}/w/{workspace.slug}/", drive,
                           folder.id, graph)  # fmt: skip
        finally:
            drive.stop()
            graph.stop()
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


def _sources_page(browser: Any, live: Live) -> Page:
    # The local Microsoft-format server's certificate is its own, as in `make dev`.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
    page: Page = context.new_page()
    page.goto(live.url.split("/w/")[0] + "/accounts/login/")
    page.locator("input[name=login]").fill("owner@consent.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(live.url + "sources/")
    return page


def test_owner_clicks_through_googles_consent_and_the_folder_syncs(browser: Any, live: Live):
    page = _sources_page(browser, live)

    page.get_by_role("button", name="Connect Google Drive").click()
    expect(page.get_by_test_id("account")).to_have_text("owner@consent.example")
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_test_id("connected-as")).to_contain_text("owner@consent.example")
    assert page.url.startswith("http://consent-co.localhost:")
    picker = page.get_by_test_id("picker")
    expect(picker.get_by_label("Handbook", exact=True)).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=ARTIFACTS / "sources-consent-choose-1280.png", full_page=True)
    picker.get_by_role("link", name="Open Handbook").click()  # the folder's folders, by HTMX
    expect(page.get_by_test_id("picker-here")).to_have_text("Handbook", timeout=20_000)
    expect(page.get_by_test_id("picker-empty")).to_be_visible()
    assert serious_violations(page) == []
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=ARTIFACTS / f"sources-consent-picker-{width}.png", full_page=True)
        assert overflow_px(page) == 0  # no sideways scroll
    page.get_by_label("This folder: Handbook").check()
    page.get_by_role("button", name="Add and sync").click()

    card = page.get_by_test_id("source-card")
    expect(card).to_contain_text("connected as owner@consent.example")
    expect(card.get_by_test_id("source-state")).to_have_text("Idle", timeout=120_000)
    expect(card.get_by_test_id("source-counts")).to_contain_text("2 added")
    page.screenshot(path=ARTIFACTS / "sources-consented-1280.png", full_page=True)
    # On a phone the card's settings (the long "Who reads its items here" choice) fit.
    page.set_viewport_size({"width": 390, "height": 844})
    assert overflow_px(page) == 0
    page.screenshot(path=ARTIFACTS / "sources-consented-390.png", full_page=True)
    assert live.drive.refresh_tokens  # the sync refreshed from the kept refresh token
    assert any(path == "/token" for method, path, query in live.drive.hits if method == "POST")

    # "Open it at its source" leads to the file's page in (the local) Drive, not an error.
    leave = next(file for file in live.drive.files.values() if file.name == "leave.md")
    page.goto(leave.metadata(live.drive.port)["webViewLink"])
    expect(page.get_by_test_id("file-name")).to_have_text("leave.md")
    expect(page.locator("pre")).to_contain_text("25 days of paid leave")


def test_owner_clicks_through_microsofts_consent_and_the_onedrive_folder_syncs(
    browser: Any, live: Live
):
    page = _sources_page(browser, live)

    page.get_by_role("button", name="Connect SharePoint / OneDrive").click()
    expect(page.get_by_test_id("account")).to_have_text("owner@consent.example")
    page.get_by_role("button", name="Accept").click()

    expect(page.get_by_test_id("connected-as")).to_contain_text("owner@consent.example")
    expect(page.locator("#id_user")).to_have_value("owner@consent.example")
    # On a phone the trail (... > Sources > Connect SharePoint / OneDrive) wraps.
    page.set_viewport_size({"width": 390, "height": 844})
    assert overflow_px(page) == 0
    page.screenshot(path=ARTIFACTS / "sources-consent-choose-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    # A site not followed, found by its name (Enter searches; it does not add the source).
    page.get_by_label("Find a SharePoint site you do not follow").fill("fin")
    page.get_by_label("Find a SharePoint site you do not follow").press("Enter")
    expect(page.get_by_test_id("picker-here")).to_have_text("Sites matching “fin”", timeout=20_000)
    expect(page.get_by_label("Finance (SharePoint)", exact=True)).to_be_visible()
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert overflow_px(page) == 0
    page.screenshot(path=ARTIFACTS / "sources-consent-picker-sites-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_test_id("picker-up").click()
    page.get_by_role("link", name="Open Your OneDrive (owner@consent.example)").click()
    # A level is read from Graph while the person waits (a token, the drive, its folders).
    expect(page.get_by_test_id("picker-here")).to_have_text("Your OneDrive", timeout=20_000)
    page.get_by_label("Policies", exact=True).check()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Add and sync").click()

    card = page.get_by_test_id("source-card").filter(has_text="OneDrive")
    expect(card).to_contain_text("connected as owner@consent.example")
    expect(card.get_by_test_id("source-state")).to_have_text("Idle", timeout=120_000)
    expect(card.get_by_test_id("source-counts")).to_contain_text("1 added")
    assert live.graph.refresh_tokens_issued  # the sync refreshed (and the token rotated)

    # The owner of the OneDrive reads what it synced (its permissions name them), with the
    # link to it at its source.
    page.goto(live.url)
    row = page.locator("tr", has_text="expenses")
    expect(row.get_by_test_id("source-link")).to_have_attribute(
        "href",
        "https://example-my.sharepoint.com/personal/owner@consent.example/Policies/expenses.txt",
    )
