"""The embedding model page in a real browser, at 1280 and 390 px: an admin starts the change
to Vertex AI (the local Vertex-format server), the progress bar moves on its own as the
passages are re-embedded, a failure shows its reason and a Retry that resumes, and the page
shows the new model once it has switched. No horizontal overflow, no serious axe-core
violation; screenshots go to artifacts/."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from localdev.vertex_server import VertexLocalServer
from members.actions.signup import organization_signup
from saas.celery import app as celery_app
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
from workspaces.embedding.change import reembedding_run
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.lanes import large_lane
from workspaces.services import document_create_from_text, workspace_create

ENTRIES = {f"Policy {n}": f"Policy number {n} says the rule number {n} applies." for n in range(6)}


@pytest.fixture
def site(
    vertex: VertexLocalServer, django_db_setup: None, django_db_blocker: Any
) -> Iterator[tuple[Organization, str]]:
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Model Co", slug="model-co", owner_email="owner@model.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        try:
            with tenant_context(organization):
                workspace = workspace_create(actor=owner, name="Handbook", is_open=True)
                documents = [
                    document_create_from_text(actor=owner, workspace=workspace, title=t, text=x)
                    for t, x in ENTRIES.items()
                ]
                documents_ingest(document_ids=[document.pk for document in documents])
            schema_public_activate()
            port = free_port()
            # The server offers Vertex AI; the re-embedding runs in this process, step by step.
            with uvicorn_running(port, VERTEX_PROJECT="test-project"):
                yield organization, f"http://model-co.localhost:{port}"
        finally:
            # The page queued re-embedding tasks that no worker here takes.
            with celery_app.connection_for_write() as broker:
                broker.default_channel.queue_purge(large_lane())
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _worker_step(organization: Organization, seconds: float) -> None:
    """What the re-embedding task does, on a thread of its own as a worker would (this
    thread runs Playwright's event loop, where Django refuses database work)."""

    def step() -> None:
        try:
            with tenant_context(organization):
                reembedding_run(seconds=seconds)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(step).result()


def _checked(page: Page, name: str) -> None:
    assert overflow_px(page) == 0, name
    assert serious_violations(page) == [], name
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_watches_the_change_of_model_to_its_end(
    site: tuple[Organization, str],
    vertex: VertexLocalServer,
    django_db_blocker: Any,
    width: int,
) -> None:
    organization, base = site
    with chromium_browser() as browser, django_db_blocker.unblock():
        page = browser.new_page(viewport={"width": width, "height": 860})
        page.goto(base + "/accounts/login/")
        page.locator("input[name=login]").fill("owner@model.example")
        page.locator("input[name=password]").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(base + "/members/")
        page.get_by_role("link", name="Embedding model").click()
        expect(page.get_by_test_id("model-in-use")).to_have_text(
            "all-MiniLM-L6-v2, run on our own servers"
        )
        page.get_by_label("New embedding model").select_option("vertex")
        page.get_by_role("button", name="Re-embed with this model").click()
        expect(page.get_by_test_id("reembed-progress")).to_contain_text("0 of 6 passages")

        _worker_step(organization, seconds=0)  # one batch of two
        # The page polls: the bar moves without a reload.
        expect(page.get_by_test_id("reembed-progress")).to_contain_text(
            "2 of 6 passages re-embedded (33 %)"
        )
        _checked(page, f"embedding-model-progress-{width}")

        vertex.fail_next = [503, 503]
        _worker_step(organization, seconds=60)
        page.reload()
        expect(page.get_by_test_id("reembed-error")).to_contain_text(
            "The embedding service kept failing (HTTP 503). Retry later."
        )
        expect(page.get_by_test_id("model-in-use")).to_have_text(
            "all-MiniLM-L6-v2, run on our own servers"
        )
        _checked(page, f"embedding-model-error-{width}")

        page.get_by_role("button", name="Retry").click()
        expect(page.get_by_text("Re-embedding resumed.")).to_be_visible()
        _worker_step(organization, seconds=60)
        expect(page.get_by_test_id("model-in-use")).to_have_text("Vertex AI text-embedding-005")
        expect(page.get_by_test_id("reembed-progress")).to_have_count(0)
        _checked(page, f"embedding-model-switched-{width}")

        # Back to the local model for the next width.
        page.get_by_label("New embedding model").select_option("local")
        page.get_by_role("button", name="Re-embed with this model").click()
        expect(page.get_by_test_id("reembed-progress")).to_be_visible()
        _worker_step(organization, seconds=60)
        expect(page.get_by_test_id("model-in-use")).to_have_text(
            "all-MiniLM-L6-v2, run on our own servers"
        )
    schema_public_activate()
