"""A worker killed mid-sync (SIGKILL while it waits on a download: no clean-up, no ack, its
Redis lock left behind) loses and duplicates nothing. Once the sync has stopped moving,
beat's round (connectors_due_queue) queues it again and another worker resumes it from its
checkpoint: what the dead worker finished is not fetched again, the item it was on is
fetched once more and stored once. The workers are processes of their own on the test
database (`celery worker --pool solo`, so that SIGKILL ends the process running the sync),
taking the sync from a queue of this test's own; the second also ingests what was added."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from connectors.models import ConnectorItem, Schedule, SyncState
from connectors.services import connectors_due_queue, drive_connector_add
from localdev.drive_server import DriveLocal
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from workspaces.models import Document, DocumentStatus, Workspace
from workspaces.services import workspace_create

ROOT = Path(__file__).resolve().parents[2]
FILES = 12
# Six seconds: how long a sync may stand still before beat takes it for lost, and so how
# long the dead worker's lock outlives it.
STALLED_MINUTES = 0.1


@pytest.fixture
def organization(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[tuple[Organization, User, Workspace]]:
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Killed worker", slug="killed-worker-sync", owner_email="boss@killed.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        try:
            with tenant_context(organization):
                workspace = workspace_create(actor=owner, name="Synced")
            yield organization, owner, workspace
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def drive(settings: Any) -> Iterator[DriveLocal]:
    local = DriveLocal().start()
    settings.GOOGLE_DRIVE_API_URL = local.api_url()
    settings.GOOGLE_DRIVE_TOKEN_URI = local.token_url()
    yield local
    local.release_downloads()
    local.stop()


def _worker(queues: list[str], drive: DriveLocal) -> subprocess.Popen[bytes]:
    url = urlsplit(os.environ["DATABASE_URL"])
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings.test",
        "DATABASE_URL": urlunsplit(url._replace(path="/" + django_settings.DATABASES["default"]["NAME"])),
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "GOOGLE_DRIVE_API_URL": drive.api_url(),
        "GOOGLE_DRIVE_TOKEN_URI": drive.token_url(),
        "CONNECTOR_STALLED_MINUTES": str(STALLED_MINUTES),
    }  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "saas", "worker", "--pool", "solo",
         "--queues", ",".join(queues), "--loglevel", "WARNING"],
        cwd=ROOT, env=environment,
    )  # fmt: skip


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_worker_killed_mid_sync_is_resumed_by_another_without_duplicates_or_losses(
    organization: tuple[Organization, User, Workspace], drive: DriveLocal, settings: Any
):
    organization, owner, workspace = organization
    ingest_queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    # The sync's lane is this test's own; documents it adds are ingested on the tests' queue.
    settings.CELERY_TASK_DEFAULT_QUEUE = f"killed-worker-{os.getpid()}"
    settings.CONNECTOR_STALLED_MINUTES = STALLED_MINUTES
    sync_queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}.large"
    folder = drive.folder("Handbook")
    contents = {
        f"note-{n:02d}.md": f"# Note {n}\n\nRoom {n} is booked through the front desk.\n".encode()
        for n in range(FILES)
    }
    for name, content in contents.items():
        drive.add(name, content, mime_type="text/markdown", parents=(folder.id,))
    drive.hold_download(5)  # the fifth file's download waits: four are done by then

    first = _worker([sync_queue], drive)
    second: subprocess.Popen[bytes] | None = None
    try:
        with tenant_context(organization):
            connector = drive_connector_add(
                actor=owner, workspace=workspace, key_file=json.dumps(drive.service_account()),
                folder_id=folder.id, schedule=Schedule.MANUAL,
            )  # fmt: skip
        assert drive.holding.wait(timeout=180), "the first worker never reached the fifth file"
        with tenant_context(organization):
            connector.refresh_from_db()
            state_when_killed = connector.state
            done_when_killed = ConnectorItem.objects.filter(
                connector=connector, done_generation=connector.generation
            ).count()
            documents_when_killed = Document.objects.filter(workspace=workspace).count()
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        drive.release_downloads()

        second = _worker([sync_queue, ingest_queue], drive)
        deadline = time.monotonic() + 300
        with tenant_context(organization):
            while True:
                connectors_due_queue()  # beat's round, every CONNECTOR_SCHEDULE_SECONDS
                connector.refresh_from_db()
                waiting = Document.objects.exclude(
                    status__in=[DocumentStatus.READY, DocumentStatus.FAILED]
                ).count()
                if connector.state == SyncState.IDLE and not waiting:
                    break
                assert time.monotonic() < deadline, f"still {connector.state}, {waiting} waiting"
                time.sleep(1)
            documents = list(Document.objects.filter(workspace=workspace))
            stored = {d.original_name: d.file.read() for d in documents}
            items = list(ConnectorItem.objects.filter(connector=connector))
    finally:
        _stop(first)
        if second is not None:
            _stop(second)

    assert (state_when_killed, done_when_killed, documents_when_killed) == (
        SyncState.RUNNING, 4, 4)  # fmt: skip
    assert (connector.added, connector.failed, connector.error) == (FILES, 0, "")
    assert stored == contents  # every file once, whole
    assert {d.status for d in documents} == {DocumentStatus.READY}
    assert len(items) == FILES
    assert len({item.document_id for item in items}) == FILES
    # The four finished before the kill were not downloaded again; the fifth was, once.
    assert drive.downloads() == FILES + 1
