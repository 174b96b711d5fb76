"""Tags and filters in a real browser, on a laptop (1280 px) and a phone (390 px): chips on
the documents list and the document page, tags added in bulk and edited with HTMX, the filter
bar of the retrieval test page and of Ask, and the filters shown with the answer. Every page
checked has no horizontal overflow and no serious axe-core violation; screenshots go to
artifacts/."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import upload
from tests.live import (
    ARTIFACTS,
    chromium_page,
    free_port,
    overflow_px,
    serious_violations,
    uvicorn_running,
)
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.services import document_upload, workspace_create

FILES = {
    "leave.md": (b"# Leave\n\nEmployees get 25 vacation days a year.\n", "hr, policy"),
    "travel.md": (b"# Travel\n\nVacation travel is never reimbursed.\n", "travel"),
    "robots.md": (b"# Robots\n\nThe NR-200 robot has a 24-month warranty.\n", ""),
}


@dataclass(frozen=True)
class Site:
    base: str
    workspace: str
    ids: dict[str, int]


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Site]:
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("t")):
        organization, owner = organization_signup(
            name="Tag Co", slug="tag-co", owner_email="owner@tag.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Handbook", is_open=True)
            documents = {
                name: document_upload(
                    actor=owner, workspace=workspace, upload=upload(name, data), tags=tags,
                    queue_ingestion=False,
                )
                for name, (data, tags) in FILES.items()
            }  # fmt: skip
            documents_ingest(document_ids=[d.pk for d in documents.values()])
        schema_public_activate()
        port = free_port()
        try:
            with uvicorn_running(port):
                yield Site(
                    f"http://tag-co.localhost:{port}", workspace.slug,
                    {name: d.pk for name, d in documents.items()},
                )  # fmt: skip
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def _checked(page: Page, name: str) -> None:
    assert overflow_px(page) == 0, name
    assert serious_violations(page) == [], name
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_tags_and_filters_at_1280_and_390(db: None, site: Site, page: Page):
    page.goto(site.base + "/accounts/login/")
    page.locator("input[name=login]").fill("owner@tag.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    documents = f"{site.base}/w/{site.workspace}/"
    page.goto(documents)
    page.wait_for_load_state("load")

    leave_row = page.locator("tr", has_text="Leave")
    expect(leave_row.locator(".tag-chip")).to_have_text(["hr", "policy"])
    page.get_by_role("checkbox", name="Tick Robots", exact=True).check()
    page.get_by_test_id("bulk-tags").fill("Products")
    page.get_by_test_id("tag-selected").click()
    expect(page.get_by_test_id("tagged")).to_have_text("Tags added to 1 document.")
    expect(page.locator("tr", has_text="Robots").locator(".tag-chip")).to_have_text(["products"])
    _checked(page, "tags-documents-1280")

    page.goto(f"{documents}documents/{site.ids['leave.md']}/")
    page.get_by_test_id("document-tags").fill("HR, policy, Onboarding")
    page.get_by_test_id("save-tags").click()
    expect(page.get_by_test_id("tag-chips").locator(".tag-chip")).to_have_text(
        ["hr", "policy", "onboarding"]
    )
    page.get_by_test_id("document-tags").fill("policy, <b>")
    page.get_by_test_id("save-tags").click()
    expect(page.locator("#tags-refusal")).to_contain_text("may hold only letters, digits")
    _checked(page, "tags-document-1280")

    page.goto(f"{documents}search/?q=vacation+days&tags=travel")
    expect(page.get_by_test_id("searched-filters")).to_have_text("Searched: tag travel")
    expect(page.locator("#results article.chunk")).to_have_count(1)
    expect(page.locator("#results article.chunk")).to_contain_text("Travel")
    _checked(page, "tags-retrieval-test-1280")

    page.goto(site.base + "/ask/")
    page.wait_for_load_state("load")
    page.get_by_test_id("filters").locator("summary").click()
    page.get_by_test_id("filter-tags").fill("policy")
    page.get_by_test_id("question").fill("How many vacation days do employees get?")
    page.get_by_test_id("send").click()
    answer = page.locator("#thread .message.assistant").last
    expect(answer).to_have_attribute("data-status", "done", timeout=90_000)
    expect(answer.get_by_test_id("searched-filters")).to_have_text("Searched: tag policy")
    expect(answer.locator(".sources")).to_contain_text("Leave")
    expect(answer.locator(".sources")).not_to_contain_text("Travel")
    _checked(page, "tags-ask-1280")
    conversation = page.url

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(documents)
    _checked(page, "tags-documents-390")
    page.goto(f"{documents}documents/{site.ids['leave.md']}/")
    _checked(page, "tags-document-390")
    page.goto(f"{documents}search/?q=vacation&tags=travel&kinds=markdown")
    expect(page.get_by_test_id("searched-filters")).to_have_text("Searched: tag travel, Markdown")
    _checked(page, "tags-retrieval-test-390")
    page.goto(conversation)
    filters = page.get_by_test_id("filters")
    expect(filters).not_to_have_attribute("open", "")
    filters.locator("summary").click()
    expect(page.get_by_test_id("filter-updated-after")).to_be_visible()
    _checked(page, "tags-ask-390")
