"""A Confluence page synced by a real Celery worker (the sync, then each document's
ingestion) is answerable: the answer cites it, and the citation's passage viewer links to
the page in Confluence. The organization and its data are committed, as a worker in
another thread needs; the worker takes only this module's tasks and stops after it."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from assistant.models import Citation
from connectors.models import Connector, SyncState
from connectors.services import confluence_connector_add
from localdev.confluence_server import ConfluenceLocal, Content
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import ask
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD
from workspaces.lanes import large_lane
from workspaces.models import Document, DocumentStatus, Workspace
from workspaces.services import workspace_create

LEAVE = (
    "<p>Employees get 25 days of paid leave every year. Unused days carry over until the end "
    "of March of the next year.</p>"
    '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>Parental leave lasts sixteen '
    "weeks at full pay.</p></ac:rich-text-body></ac:structured-macro>"
)
TRAVEL = (
    "<p>Trains are booked in second class for trips under four hours. Flights need the "
    "approval of a director.</p>"
)


@dataclass(frozen=True)
class Wiki:
    organization: Organization
    owner: User
    workspace: Workspace
    confluence: ConfluenceLocal
    leave: Content
    media: Path


@pytest.fixture(scope="module")
def wiki(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Wiki]:
    media = tmp_path_factory.mktemp("media")
    confluence = ConfluenceLocal().start()
    confluence.account("sync@confnotion.example", "ATATT-answers")
    confluence.space("HR", "Human Resources")
    leave = confluence.page("HR", "Leave policy", LEAVE)
    confluence.page("HR", "Travel policy", TRAVEL)
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        organization, owner = organization_signup(
            name="Confnotion Wiki Co", slug="confnotion-wiki", owner_email="owner@confnotion.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Wiki", is_open=True)
        schema_public_activate()
        try:
            with start_worker(
                app, pool="solo", perform_ping_check=False,
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE, large_lane()],
            ):  # fmt: skip
                yield Wiki(organization, owner, workspace, confluence, leave, media)
        finally:
            confluence.stop()
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _synced_and_ingested(wiki: Wiki, timeout: float = 240) -> Connector:
    """Add the source (its first sync queued on commit) and wait for the worker to sync it
    and ingest both pages."""
    with tenant_context(wiki.organization):
        connector = confluence_connector_add(
            actor=wiki.owner, workspace=wiki.workspace, site_url=wiki.confluence.url(),
            email="sync@confnotion.example", api_token="ATATT-answers", spaces=["HR"],
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            connector.refresh_from_db()
            documents = Document.objects.filter(workspace=wiki.workspace)
            ready = documents.filter(status=DocumentStatus.READY).count()
            if connector.state == SyncState.IDLE and documents.count() == ready == 2:
                return connector
            assert connector.state != SyncState.FAILED, connector.error
            assert not documents.filter(status=DocumentStatus.FAILED).exists()
            time.sleep(0.5)
    raise AssertionError(f"not synced and ingested in {timeout} s: {connector.state}")


def test_a_synced_confluence_page_is_cited_with_a_link_to_it(wiki: Wiki, django_db_blocker: Any):
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=wiki.media):
        connector = _synced_and_ingested(wiki)

        message, _ = ask(
            wiki.organization, wiki.owner, "How many days of paid leave do employees get?"
        )

        assert connector.added == 2
        assert "25 days" in message.text
        with tenant_context(wiki.organization):
            citation = Citation.objects.filter(message=message).order_by("marker").first()
            assert citation is not None and citation.document is not None
            assert citation.document.title == "Leave policy"
            assert citation.document.source_url == wiki.confluence.page_url(wiki.leave.id)
        viewer = signed_in(wiki.organization, wiki.owner).get(f"/ask/sources/{citation.pk}/")
        assert viewer.status_code == 200
        assert f'href="{wiki.confluence.page_url(wiki.leave.id)}"' in viewer.content.decode()
        assert "Open it at its source" in viewer.content.decode()
        schema_public_activate()
