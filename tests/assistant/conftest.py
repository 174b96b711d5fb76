"""An organization whose open "Handbook" workspace holds the twelve sample documents,
ingested through the real pipeline and committed, so that async views, streams on other
threads and a browser see it. Made once per session, dropped at the end."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from assistant.answering import answer_events
from assistant.conversations import question_ask
from assistant.llm.vertex import chat_models_forget
from assistant.models import Conversation, Message
from localdev.vertex_server import VertexLocalServer
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import SAMPLES, sample, upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Workspace
from workspaces.services import document_upload, workspace_create


@dataclass(frozen=True)
class Handbook:
    organization: Organization
    owner: User
    workspace: Workspace


@pytest.fixture(scope="session")
def handbook(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Handbook]:
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("m")):
        organization, owner = organization_signup(
            name="Northwind Robotics",
            slug="northwind",
            owner_email="owner@northwind.example",
            owner_password=OWNER_PASSWORD,
        )
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Handbook", is_open=True)
            ids = [
                document_upload(
                    actor=owner,
                    workspace=workspace,
                    upload=sample(path.name),
                    queue_ingestion=False,
                ).pk
                for path in sorted(SAMPLES.iterdir())
                if path.name != "README.md"
            ]
            documents_ingest(document_ids=ids)
        schema_public_activate()
        try:
            yield Handbook(organization, owner, workspace)
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


async def _drain(organization: Organization, message_id: int) -> list[str]:
    partials = []
    async for kind, text in answer_events(tenant=organization, message_id=message_id):
        if kind == "partial":
            partials.append(text)
    return partials


def ask(
    organization: Organization,
    user: User,
    question: str,
    conversation: Conversation | None = None,
    scope_ids: tuple[int, ...] = (),
) -> tuple[Message, list[str]]:
    """Ask through the real path (the stored question, then the stream's generator) and
    return the finished answer with the partial texts the stream sent."""
    with tenant_context(organization):
        conversation, _, reply = question_ask(
            user=user, text=question, conversation=conversation, scope_ids=scope_ids
        )
    partials = asyncio.run(_drain(organization, reply.pk))
    with tenant_context(organization):
        message = (
            Message.objects.select_related("conversation")
            .prefetch_related("citations")
            .get(pk=reply.pk)
        )
        return message, partials


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[None]:
    """Database access that commits, for tests whose work crosses threads."""
    with django_db_blocker.unblock():
        yield
        schema_public_activate()


def documents_ingested(owner: User, workspace: Workspace, documents: dict[str, bytes]) -> None:
    """Upload each file (name -> bytes) to the workspace and ingest them, in this thread."""
    ids = [
        document_upload(actor=owner, workspace=workspace, upload=upload(name, data)).pk
        for name, data in documents.items()
    ]
    documents_ingest(document_ids=ids)


@pytest.fixture
def vertex(settings) -> Iterator[VertexLocalServer]:
    server = VertexLocalServer().start()
    settings.ASSISTANT_PROVIDER = "vertex"
    settings.VERTEX_BASE_URL = server.base_url
    settings.VERTEX_ACCESS_TOKEN = "test-token"
    settings.VERTEX_PROJECT = "test-project"
    settings.VERTEX_MAX_RETRIES = 0
    chat_models_forget()
    yield server
    chat_models_forget()
    server.stop()
