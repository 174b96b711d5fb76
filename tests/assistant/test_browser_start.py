"""Starting to ask in a real browser: a suggested question from the documents is asked with
one click; a new organization's Ask page says there is nothing yet and where to upload."""

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import Handbook
from tests.factories import OWNER_PASSWORD
from tests.live import (
    ARTIFACTS,
    chromium_page,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.services import workspace_create


@pytest.fixture(scope="module")
def port(handbook: Handbook) -> Iterator[int]:
    port = free_port()
    with uvicorn_running(port):
        yield port


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url + "/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(url + "/ask/")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("width", [390, 1280])
def test_a_suggested_question_is_asked_with_one_click(
    port: int, page: Page, handbook: Handbook, width: int
):
    page.set_viewport_size({"width": width, "height": 860})
    _sign_in(page, f"http://{handbook.organization.slug}.localhost:{port}", handbook.owner.email)
    suggestions = page.get_by_test_id("suggestions")
    expect(suggestions.get_by_role("button")).to_have_count(4)
    assert overflow_px(page) == 0
    assert serious_violations(page) == []
    page.screenshot(path=ARTIFACTS / f"ask-suggestions-{width}.png", full_page=True)
    first = suggestions.get_by_role("button").first
    question = first.inner_text()

    first.click()

    expect(page.locator("#thread .message.user > p").first).to_have_text(question)
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=90_000)
    expect(answer.locator(".sources")).to_be_visible()


@pytest.fixture
def fresh(handbook: Handbook, django_db_blocker) -> Iterator[Organization]:
    """A new organization with an empty open workspace. Made before the page: Playwright's
    sync API runs an event loop in this thread, where Django refuses database calls."""
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Fresh Start",
            slug="freshstart",
            owner_email="owner@freshstart.example",
            owner_password=OWNER_PASSWORD,
        )
        with tenant_context(organization):
            workspace_create(actor=owner, name="Policies", is_open=True)
        schema_public_activate()
    try:
        yield organization
    finally:
        with django_db_blocker.unblock():
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def test_new_organization_sees_where_to_upload(fresh: Organization, port: int, page: Page):
    _sign_in(page, f"http://freshstart.localhost:{port}", "owner@freshstart.example")
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 860})
        notice = page.get_by_test_id("no-knowledge")
        expect(notice).to_contain_text("There are no documents to answer from yet.")
        assert overflow_px(page) == 0
        assert serious_violations(page) == []
        page.screenshot(path=ARTIFACTS / f"ask-no-documents-{width}.png", full_page=True)
    notice.get_by_role("button", name="Upload documents to Policies").click()
    expect(page).to_have_url(f"http://freshstart.localhost:{port}/w/policies/")
