"""Celery: a connector's sync (on the large lane), and beat's round of due syncs."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django_tenants.utils import get_public_schema_name, tenant_context

from connectors.permissions import connector_readers_sync
from connectors.services import connectors_due_queue, connectors_readers_due_queue
from connectors.sync import connector_sync_run
from tenants.models import Organization

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    name="connectors.tasks.connector_sync_task",
    bind=True,
    # A worker killed mid-sync has its message delivered again; the sync resumes from its
    # checkpoint (connectors.sync), so nothing is fetched or added twice.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def connector_sync_task(self: Task, connector_id: int) -> str:  # type: ignore[type-arg]
    """Runs in the schema of the organization that queued it."""
    try:
        outcome = connector_sync_run(connector_id=connector_id)
    except TRANSIENT as error:
        raise self.retry(exc=error, countdown=min(2**self.request.retries, 300)) from error
    if outcome.retry_after is not None:
        # The source said 429: wait in the queue, not in a worker, then resume.
        raise self.retry(countdown=outcome.retry_after)
    return str(outcome.state)


@shared_task(
    name="connectors.tasks.connector_readers_sync_task",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
)
def connector_readers_sync_task(self: Task, connector_id: int) -> int:  # type: ignore[type-arg]
    """The permission-only sync (connectors.permissions), in the organization's schema: no
    content is fetched, so it runs on the main lane, beside uploads."""
    try:
        return connector_readers_sync(connector_id=connector_id)
    except TRANSIENT as error:
        raise self.retry(exc=error, countdown=min(2**self.request.retries, 300)) from error


@shared_task(name="connectors.tasks.connectors_due_task")
def connectors_due_task() -> int:
    """Celery beat, every CONNECTOR_SCHEDULE_SECONDS, in the public schema: queue every
    organization's due, resting or stalled syncs, and its due permission-only syncs."""
    queued = 0
    for organization in Organization.objects.exclude(schema_name=get_public_schema_name()):
        with tenant_context(organization):
            queued += connectors_due_queue() + connectors_readers_due_queue()
    return queued
