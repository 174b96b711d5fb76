"""A knowledge manager in a real browser: the documents list in natural title order, sorted
by a column, a row deleted after confirming, two ticked rows deleted at once, on a laptop
and on a phone.

uvicorn runs as its own process against the test database; the organization is made and
its documents ingested here, through the real services, and dropped at the end."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Dialog, Page, expect

from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import upload
from tests.live import ARTIFACTS, chromium_page, free_port, overflow_px, uvicorn_running
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.services import document_upload, workspace_create

NOTES = [f"Note {n}" for n in range(1, 13)]


@dataclass(frozen=True)
class Shelf:
    url: str
    organization: Organization


@pytest.fixture(scope="module")
def shelf(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Shelf]:
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("s")):
        organization, owner = organization_signup(
            name="Shelf Co", slug="shelf-co", owner_email="owner@shelf.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Notes", is_open=True)
            # Uploaded in the order a file browser lists them: 1, 10, 11, 12, 2, 3, ...
            names = [*sorted(f"note-{n}.txt" for n in range(1, 13)), "empty.txt"]
            ids = [
                document_upload(
                    actor=owner, workspace=workspace, queue_ingestion=False,
                    upload=upload(name, f"Meeting notes, {name}.".encode() if name != "empty.txt" else b""),
                ).pk
                for name in names
            ]  # fmt: skip
            documents_ingest(document_ids=ids)
        schema_public_activate()
        port = free_port()
        try:
            with uvicorn_running(port):
                yield Shelf(f"http://shelf-co.localhost:{port}/w/{workspace.slug}/", organization)
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def _titles(page: Page) -> list[str]:
    return page.locator("table.documents tbody td.title > a").all_inner_texts()


def _sign_in(page: Page, shelf: Shelf) -> None:
    page.goto(shelf.url.split("/w/")[0] + "/accounts/login/")
    page.locator("input[name=login]").fill("owner@shelf.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(shelf.url)


# `db`: pytest-django creates the test database only for runs that include a test using it.
def test_documents_sort_naturally_and_by_column_and_rows_are_deleted_after_confirming(
    db: None, shelf: Shelf, page: Page
):
    _sign_in(page, shelf)
    expect(page.locator("table.documents")).to_be_visible()
    assert _titles(page) == ["Empty", *NOTES]
    failed = page.locator("tr", has_text="Empty")
    expect(failed.get_by_text("The file is empty.")).to_be_visible()
    expect(failed.get_by_role("button", name="Retry Empty")).to_be_visible()
    expect(page.get_by_role("button", name="Retry Note 1", exact=True)).to_have_count(0)

    page.get_by_role("link", name="Document").click()
    expect(page.locator("th.title")).to_have_attribute("aria-sort", "descending")
    assert _titles(page) == [*reversed(NOTES), "Empty"]
    assert "sort=-title" in page.url
    page.get_by_role("link", name="Status").click()
    expect(page.locator("th.status")).to_have_attribute("aria-sort", "ascending")
    assert _titles(page)[-1] == "Empty"
    page.get_by_role("link", name="Status").click()
    expect(page.locator("th.status")).to_have_attribute("aria-sort", "descending")
    assert _titles(page)[0] == "Empty"
    page.screenshot(path=ARTIFACTS / "documents-sorted-1280.png", full_page=True)

    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Delete Note 7", exact=True).click()
    expect(page.get_by_role("button", name="Delete Note 7", exact=True)).to_be_visible()
    assert asked == ["Delete “Note 7” and its passages?"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Note 7", exact=True).click()
    expect(page.locator("tr.deleted")).to_have_text("“Note 7” was deleted.")

    page.get_by_role("checkbox", name="Tick Note 8", exact=True).check()
    page.get_by_role("checkbox", name="Tick Note 9", exact=True).check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator("#documents .flash")).to_have_text("Deleted 2 documents: Note 8, Note 9.")
    left = ["Empty", *(n for n in NOTES if n not in ("Note 7", "Note 8", "Note 9"))]
    assert _titles(page) == left

    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()  # still sorted by status, descending (the address kept it)
    assert _titles(page) == left
    assert overflow_px(page) == 0
    delete = page.get_by_role("button", name="Delete Note 12", exact=True)
    delete.scroll_into_view_if_needed()
    box = delete.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    page.screenshot(path=ARTIFACTS / "documents-360.png", full_page=True)
