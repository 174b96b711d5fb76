"""A SharePoint file synced by a real Celery worker (the sync, with the Graph SDK's event
loop inside the worker, then the document's ingestion) is answerable: the answer cites it,
and the citation's passage viewer links to the file in SharePoint. The organization and its
data are committed, as a worker in another thread needs; the worker takes only this
module's tasks and stops after it."""

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
from connectors.services import microsoft_connector_add
from localdev.graph_server import AppRegistration, GraphItem, GraphLocal
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
    b"# Leave policy\n\nEmployees get 25 days of paid leave every year. Unused days carry "
    b"over until the end of March of the next year.\n"
)
TRAVEL = b"Trains are booked in second class for trips under four hours."


@dataclass(frozen=True)
class Library:
    organization: Organization
    owner: User
    workspace: Workspace
    graph: GraphLocal
    app: AppRegistration
    leave: GraphItem
    media: Path


@pytest.fixture(scope="module")
def library(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[Library]:
    media = tmp_path_factory.mktemp("media")
    graph = GraphLocal().start()
    drive = graph.site("graphco.sharepoint.com", "/sites/handbook", "Handbook")
    # Shared with anyone who has the link: readable by every reader of the workspace.
    drive.permissions = [{"id": "link", "roles": ["read"],
                          "link": {"scope": "anonymous", "type": "view"}}]  # fmt: skip
    leave = graph.add(drive, "Leave policy.md", LEAVE, mime_type="text/markdown")
    graph.add(drive, "Travel.txt", TRAVEL)
    microsoft = {
        "MICROSOFT_LOGIN_URL": graph.login_url(), "MICROSOFT_GRAPH_URL": graph.graph_url(),
        "MICROSOFT_CA_BUNDLE": graph.ca_file, "MEDIA_ROOT": media,
    }  # fmt: skip
    with django_db_blocker.unblock(), override_settings(**microsoft):
        organization, owner = organization_signup(
            name="Graph Library Co", slug="graph-library", owner_email="owner@graphco.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Handbook", is_open=True)
        schema_public_activate()
        try:
            with start_worker(
                app, pool="solo", perform_ping_check=False,
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE, large_lane()],
            ):  # fmt: skip
                yield Library(organization, owner, workspace, graph, graph.app(), leave, media)
        finally:
            graph.stop()
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _synced_and_ingested(library: Library, timeout: float = 240) -> Connector:
    """Add the source (its first sync queued on commit) and wait for the worker to sync it
    and ingest both files."""
    with tenant_context(library.organization):
        connector = microsoft_connector_add(
            actor=library.owner, workspace=library.workspace, **library.app,
            site_url="https://graphco.sharepoint.com/sites/handbook",
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            connector.refresh_from_db()
            documents = Document.objects.filter(workspace=library.workspace)
            ready = documents.filter(status=DocumentStatus.READY).count()
            if connector.state == SyncState.IDLE and documents.count() == ready == 2:
                return connector
            assert connector.state != SyncState.FAILED, connector.error
            assert not documents.filter(status=DocumentStatus.FAILED).exists()
            time.sleep(0.5)
    raise AssertionError(f"not synced and ingested in {timeout} s: {connector.state}")


def test_a_synced_sharepoint_file_is_cited_with_a_link_to_it(
    library: Library, django_db_blocker: Any
):
    microsoft = {
        "MICROSOFT_LOGIN_URL": library.graph.login_url(),
        "MICROSOFT_GRAPH_URL": library.graph.graph_url(),
        "MICROSOFT_CA_BUNDLE": library.graph.ca_file, "MEDIA_ROOT": library.media,
    }  # fmt: skip
    with django_db_blocker.unblock(), override_settings(**microsoft):
        connector = _synced_and_ingested(library)

        message, _ = ask(
            library.organization, library.owner, "How many days of paid leave do employees get?"
        )

        assert connector.added == 2
        assert "25 days" in message.text
        link = "https://graphco.sharepoint.com/sites/handbook/Shared%20Documents/Leave%20policy.md"
        with tenant_context(library.organization):
            citation = Citation.objects.filter(message=message).order_by("marker").first()
            assert citation is not None and citation.document is not None
            assert citation.document.title == "Leave policy"
            assert citation.document.source_url == link
        viewer = signed_in(library.organization, library.owner).get(f"/ask/sources/{citation.pk}/")
        assert viewer.status_code == 200
        assert f'href="{link}"' in viewer.content.decode()
        schema_public_activate()
