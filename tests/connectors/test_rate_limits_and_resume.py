"""A source's 429 and Retry-After: the sync waits in the queue with its checkpoint, and
resumes without fetching again what it had finished."""

from django.utils import timezone

from connectors.models import Connector, SyncState
from connectors.sync import BACKOFF_FIRST_SECONDS, connector_sync_run
from localdev.website_server import WebsiteLocal
from workspaces.models import Document, Workspace


def test_429_with_retry_after_waits_then_resumes_where_it_stopped(
    website: Connector, site: WebsiteLocal, workspace: Workspace
):
    site.rate_limit("/help/expenses.html", retry_after=7)

    first = connector_sync_run(connector_id=website.pk)

    website.refresh_from_db()
    assert (first.state, first.retry_after) == (SyncState.WAITING, 7)
    assert website.state == SyncState.WAITING
    assert website.retry_after_until is not None and website.retry_after_until > timezone.now()
    done_before = website.added
    assert done_before == 2  # the index and the leave policy, before the expenses page

    second = connector_sync_run(connector_id=website.pk)

    website.refresh_from_db()
    assert second.state == SyncState.IDLE
    assert website.added == 4
    assert Document.objects.filter(workspace=workspace).count() == 4
    assert site.fetched("/help/") == 1  # not fetched again on resuming
    assert site.fetched("/help/leave.html") == 1
    assert site.fetched("/help/expenses.html", 429) == 1
    assert site.fetched("/help/expenses.html") == 1


def test_429_without_retry_after_backs_off_doubling(website: Connector, site: WebsiteLocal):
    site.rate_limit("/help/", retry_after=None)
    first = connector_sync_run(connector_id=website.pk)
    site.rate_limit("/help/", retry_after=None)
    second = connector_sync_run(connector_id=website.pk)
    third = connector_sync_run(connector_id=website.pk)

    assert (first.retry_after, second.retry_after) == (
        BACKOFF_FIRST_SECONDS,
        2 * BACKOFF_FIRST_SECONDS,
    )
    assert third.state == SyncState.IDLE


def test_a_second_run_while_one_holds_the_lock_does_nothing(website: Connector):
    from billing.redis_connection import redis_client
    from tenants.schemas import tenant_current

    lock = redis_client().lock(f"connector-sync:{tenant_current().schema_name}:{website.pk}")
    assert lock.acquire(blocking=False)
    try:
        outcome = connector_sync_run(connector_id=website.pk)
    finally:
        lock.release()

    website.refresh_from_db()
    assert outcome.state == SyncState.RUNNING
    assert website.state == SyncState.QUEUED  # untouched: the holder runs it
