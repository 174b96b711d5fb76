"""Adding documents in a real browser, at 1280 and 390 px: a pasted entry refused by the
plan's cap keeps what was typed; a folder dropped or picked is uploaded with its paths;
the documents list stays in the order its header says while documents are processed.

uvicorn runs as its own process against the test database; the organizations are made
here through the real services (one with a one-document plan) and dropped at the end."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from billing.models import BillingAccount, Plan
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import upload
from tests.live import ARTIFACTS, chromium_page, free_port, overflow_px, uvicorn_running
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.services import document_upload, workspace_create

WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Site:
    full: str  # a workspace of an organization whose plan allows one document, which it has
    roomy: dict[str, str]  # empty workspaces of an organization with room, by name
    media: Path  # where the server stores uploads, and the test's worker reads them


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Site]:
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        free = Plan.objects.get(slug="free")
        one = Plan.objects.create(
            name="One", slug="one-document", questions_per_period=10, max_documents=1,
            max_storage_bytes=free.max_storage_bytes, max_members=5, max_workspaces=5,
        )  # fmt: skip
        many = Plan.objects.create(
            name="Many", slug="many-documents", questions_per_period=10, max_documents=100,
            max_storage_bytes=free.max_storage_bytes, max_members=5, max_workspaces=10,
        )  # fmt: skip
        full, owner = organization_signup(
            name="Full Co", slug="full-co", owner_email="owner@full.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        BillingAccount.objects.filter(organization=full).update(plan=one)
        with tenant_context(full):
            notes = workspace_create(actor=owner, name="Notes", is_open=True)
            existing = document_upload(
                actor=owner, workspace=notes, queue_ingestion=False,
                upload=upload("existing.txt", b"The one document this plan allows."),
            )  # fmt: skip
            documents_ingest(document_ids=[existing.pk])
        roomy, owner = organization_signup(
            name="Roomy Co", slug="roomy-co", owner_email="owner@roomy.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        BillingAccount.objects.filter(organization=roomy).update(plan=many)
        with tenant_context(roomy):
            empty = [
                workspace_create(actor=owner, name=f"{purpose} {width}", is_open=True)
                for purpose in ("Order", "Folder", "Drop") for width in WIDTHS
            ]  # fmt: skip
        schema_public_activate()
        port = free_port()
        try:
            with uvicorn_running(port, MEDIA_ROOT=str(media)):
                yield Site(
                    full=f"http://full-co.localhost:{port}/w/{notes.slug}/",
                    roomy={
                        workspace.name: f"http://roomy-co.localhost:{port}/w/{workspace.slug}/"
                        for workspace in empty
                    },
                    media=media,
                )
        finally:
            schema_public_activate()
            for organization in (full, roomy):
                Organization.objects.get(pk=organization.pk).delete(force_drop=True)
            one.delete()
            many.delete()


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def _sign_in(page: Page, url: str) -> None:
    slug = url.split("//")[1].split("-co.")[0]
    page.goto(url.split("/w/")[0] + "/accounts/login/")
    page.locator("input[name=login]").fill(f"owner@{slug}.example")
    page.locator("input[name=password]").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(url)


@pytest.mark.parametrize("width", WIDTHS)
def test_pasted_entry_refused_by_the_cap_keeps_the_typed_title_and_text(
    db: None, site: Site, page: Page, width: int
):
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, site.full)
    title, text = f"Resetting a VPN token ({width})", f"Open the portal at {width} and Reset."
    page.get_by_text("Paste a text or FAQ entry").click()
    page.locator("#entry-title").fill(title)
    page.locator("#entry-text").fill(text)

    page.get_by_role("button", name="Add entry").click()

    expect(page.locator("#documents [data-meter=documents]")).to_contain_text(
        "limit of 1 documents"
    )
    expect(page.locator("#entry-title")).to_have_value(title)
    expect(page.locator("#entry-text")).to_have_value(text)
    assert overflow_px(page) == 0
    # Room made by deleting the one document: the same entry, sent again, is taken.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("row-delete").click()
    expect(page.locator("tr.deleted")).to_be_visible()
    page.get_by_role("button", name="Add entry").click()
    expect(page.locator("table.documents td.title")).to_contain_text(title)
    expect(page.locator("#entry-title")).to_have_value("")
    expect(page.locator("#entry-text")).to_have_value("")


def _titles(page: Page) -> list[str]:
    return page.locator("table.documents tbody td.title > a").all_inner_texts()


@pytest.mark.parametrize("width", WIDTHS)
def test_documents_list_keeps_the_order_its_header_says_while_uploads_are_processed(
    db: None, site: Site, page: Page, width: int, tmp_path: Path, settings: Any
):
    settings.MEDIA_ROOT = site.media
    # Each file's own title (its first heading) sorts elsewhere than its name.
    headings = {"a": "Zebra crossing rules", "b": "Apple orchard visits", "c": "Mango delivery"}
    paths = []
    for stem, heading in headings.items():
        path = tmp_path / f"{stem}.md"
        path.write_text(f"# {heading}\n\nWhat the {heading.lower()} team agreed at {width}.\n")
        paths.append(path)
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, site.roomy[f"Order {width}"])
    page.locator("#id_files").set_input_files(paths)
    # Listed, in order, by the names of their files while they wait for a worker.
    expect(page.locator("table.documents tbody td.title > a")).to_have_text(["A", "B", "C"])
    expect(page.locator("th.title")).to_have_attribute("aria-sort", "ascending")

    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]
    ):
        expect(page.locator("table.documents td.status .badge.ready")).to_have_count(
            3, timeout=60_000
        )
        # Each now has its own title, and the list its order, without a reload.
        expect(page.locator("table.documents tbody td.title > a")).to_have_text(
            sorted(headings.values())
        )
    expect(page.locator("th.title")).to_have_attribute("aria-sort", "ascending")
    assert overflow_px(page) == 0
    # Each row's actions cell is as tall as its row, so its background leaves no gap.
    heights = page.locator("table.documents tbody tr").evaluate_all(
        "rows => rows.map(row => [row.getBoundingClientRect().height,"
        " row.querySelector('td.row-actions').getBoundingClientRect().height])"
    )
    assert [row for row, cell in heights if abs(row - cell) > 1] == []
    page.screenshot(path=ARTIFACTS / f"documents-order-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_picked_folder_is_uploaded_with_its_subfolders_as_tags(
    db: None, site: Site, page: Page, width: int, tmp_path: Path
):
    root = tmp_path / "Staff Handbook"
    for relative, text in {
        "HR/leave.md": "Annual leave is 25 days.",
        "IT & Security/vpn.txt": "Reset the VPN token in the portal.",
        "welcome.md": "Welcome to the company.",
        ".DS_Store": "\0\0finder",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, site.roomy[f"Folder {width}"])
    expect(page.get_by_text("Choose a folder")).to_be_visible()

    page.locator("#id_folder").set_input_files(root)

    rows = page.locator("table.documents tbody tr")
    expect(rows.locator("td.title > a")).to_have_text(["Leave", "Vpn", "Welcome"])
    chips = [row.locator(".tag-chip").all_inner_texts() for row in rows.all()]
    assert chips == [
        ["staff handbook", "hr"], ["staff handbook", "it & security"], ["staff handbook"]
    ]  # fmt: skip
    expect(page.locator("#documents [data-testid=upload-refused]")).to_have_count(0)
    assert overflow_px(page) == 0
    page.screenshot(path=ARTIFACTS / f"documents-folder-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_files_dropped_on_the_zone_are_uploaded(db: None, site: Site, page: Page, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, site.roomy[f"Drop {width}"])
    dropped = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["Parking is on level two."], "parking.txt"));
          transfer.items.add(new File(["Lunch is at noon."], "lunch.txt"));
          return transfer;
        }"""
    )

    page.locator("#dropzone").dispatch_event("drop", {"dataTransfer": dropped})

    expect(page.locator("table.documents tbody td.title > a")).to_have_text(["Lunch", "Parking"])
    expect(page.locator("table.documents .tag-chip")).to_have_count(0)
