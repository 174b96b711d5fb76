"""Upload through the page; the document is parsed, chunked and embedded by a real Celery
worker taking the task from Redis, in the uploading organization's schema."""

import time

from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django_tenants.utils import tenant_context

from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD
from tests.files import sample
from workspaces.models import Chunk, Document, DocumentStatus
from workspaces.services import workspace_create


def test_uploaded_file_is_ingested_by_the_worker_with_live_progress(
    django_db_setup, django_db_blocker
):
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Pipeline",
            slug="pipeline-test",
            owner_email="boss@pipeline.example",
            owner_password=OWNER_PASSWORD,
        )
        try:
            with tenant_context(organization):
                workspace = workspace_create(actor=owner, name="Manuals")
            client = signed_in(organization, owner)
            with start_worker(
                app,
                pool="solo",
                perform_ping_check=False,
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
            ):
                response = client.post(
                    f"/w/{workspace.slug}/upload/", {"files": [sample("nr350-safety-manual.pdf")]}
                )
                assert response.status_code == 200
                with tenant_context(organization):
                    document = Document.objects.get()
                    seen = set()
                    deadline = time.monotonic() + 60
                    while document.status not in (DocumentStatus.READY, DocumentStatus.FAILED):
                        assert time.monotonic() < deadline, f"stuck in {document.status}"
                        seen.add(document.status)
                        time.sleep(0.05)
                        document.refresh_from_db()
                    chunks = Chunk.objects.filter(document=document).count()
                    row = client.get(
                        f"/w/{workspace.slug}/documents/{document.pk}/row/"
                    ).content.decode()
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)

    assert document.status == DocumentStatus.READY, document.error
    assert document.pages == 4
    assert chunks == document.chunks_total == document.chunks_done > 0
    assert "Ready" in row
    assert seen  # the page could watch it move through queued / parsing / embedding
