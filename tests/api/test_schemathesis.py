"""Schemathesis (a schema-driven fuzzer) against the API served by uvicorn, with an editor
key and every check on: what the OpenAPI schema promises is what the server does. The
configuration, and any exclusion with its reason, is in tests/api/schemathesis.toml; the
run's report goes to artifacts/api/schemathesis.txt."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from api.services import api_key_create
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import sample
from tests.live import ARTIFACTS, free_port, uvicorn_running
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import WorkspaceRole
from workspaces.services import document_upload, workspace_create

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def served(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """The server's address, an organization's host and an editor key's secret. The
    organization is the fuzzer's own: what it uploads, replaces and deletes is nothing
    another test reads."""
    media = tmp_path_factory.mktemp("fuzzed")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        organization, owner = organization_signup(
            name="Fuzzed", slug="fuzzed", owner_email="owner@fuzzed.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Handbook")
            document = document_upload(
                actor=owner, workspace=workspace, upload=sample("employee-handbook-time-off.md"),
                queue_ingestion=False,
            )  # fmt: skip
            documents_ingest(document_ids=[document.pk])
            issued = api_key_create(
                actor=owner, name="Schemathesis", scopes=["read", "ask", "ingest"],
                workspace_ids=[workspace.pk], level=WorkspaceRole.EDITOR,
            )  # fmt: skip
        schema_public_activate()
    port = free_port()
    try:
        with uvicorn_running(port, MEDIA_ROOT=str(media)):
            yield f"http://127.0.0.1:{port}", f"fuzzed.localhost:{port}", issued.secret
    finally:
        with django_db_blocker.unblock():
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def test_the_api_does_what_its_schema_says(db: None, served: tuple[str, str, str], tmp_path):
    base, host, secret = served
    schema = httpx.get(f"{base}/api/v1/schema/", headers={"Host": host}, timeout=60)
    assert schema.status_code == 200
    (tmp_path / "schema.yaml").write_text(schema.text)
    (ARTIFACTS / "api").mkdir(parents=True, exist_ok=True)
    report = ARTIFACTS / "api" / "schemathesis.txt"
    with report.open("w") as output:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(CONFIG),
             "run", "schema.yaml", "--url", base, "--checks", "all",
             "--header", f"Host: {host}", "--header", f"Authorization: Bearer {secret}"],
            cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT, timeout=900,
        )  # fmt: skip
    assert run.returncode == 0, report.read_text()[-20000:]
