"""Adding documents in a real browser, at 1280 and 390 px: a pasted entry refused by the
plan's cap keeps what was typed; a folder dropped or picked is uploaded with its paths;
the documents list stays in the order its header says while documents are processed.

uvicorn runs as its own process against the test database; the organizations are made
here through the real services (one with a one-document plan) and dropped at the end."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from billing.models import BillingAccount, Plan
from members.services import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import upload
from tests.live import chromium_page, free_port, overflow_px, uvicorn_running
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.services import document_upload, workspace_create

WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Site:
    full: str  # a workspace of an organization whose plan allows one document, which it has
    roomy: str  # a workspace of an organization on the Free plan, empty


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Site]:
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("u")):
        free = Plan.objects.get(slug="free")
        one = Plan.objects.create(
            name="One", slug="one-document", questions_per_period=10, max_documents=1,
            max_storage_bytes=free.max_storage_bytes, max_members=5, max_workspaces=5,
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
        with tenant_context(roomy):
            inbox = workspace_create(actor=owner, name="Inbox", is_open=True)
        schema_public_activate()
        port = free_port()
        try:
            with uvicorn_running(port):
                yield Site(
                    full=f"http://full-co.localhost:{port}/w/{notes.slug}/",
                    roomy=f"http://roomy-co.localhost:{port}/w/{inbox.slug}/",
                )
        finally:
            schema_public_activate()
            for organization in (full, roomy):
                Organization.objects.get(pk=organization.pk).delete(force_drop=True)
            one.delete()


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
