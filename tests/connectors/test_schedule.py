"""Beat's round (connectors_due_queue): sources whose schedule came round, whose
Retry-After passed, or whose sync stopped moving (its worker died) are queued; paused ones
and ones not yet due are left alone. A running sync left stalled (as a killed worker leaves
it) is queued again and resumes from its checkpoint."""

from datetime import timedelta

from django.utils import timezone

from connectors.models import Connector, ConnectorItem, SyncState
from connectors.services import connectors_due_queue
from connectors.sync import connector_sync_run
from localdev.website_server import WebsiteLocal


def _set(connector: Connector, **fields: object) -> None:
    Connector.objects.filter(pk=connector.pk).update(**fields)


def test_due_waiting_and_stalled_syncs_are_queued_and_the_rest_left_alone(website: Connector):
    now = timezone.now()
    connector_sync_run(connector_id=website.pk)
    _set(website, next_sync_at=now + timedelta(hours=1))
    assert connectors_due_queue() == 0

    _set(website, next_sync_at=now - timedelta(seconds=1))
    assert connectors_due_queue() == 1
    website.refresh_from_db()
    assert website.state == SyncState.QUEUED

    _set(website, state=SyncState.WAITING, retry_after_until=now - timedelta(seconds=1))
    assert connectors_due_queue() == 1

    _set(website, state=SyncState.RUNNING, heartbeat_at=now - timedelta(minutes=1))
    assert connectors_due_queue() == 0
    _set(website, heartbeat_at=now - timedelta(hours=1))
    assert connectors_due_queue() == 1

    _set(website, paused=True)
    assert connectors_due_queue() == 0


def test_a_stalled_running_sync_is_queued_again_and_resumes_from_its_checkpoint(
    website: Connector, site: WebsiteLocal
):
    # The state a worker killed after two pages leaves (set here by hand, no process is
    # killed): running, its listing and two items' rows committed, the heartbeat old.
    site.rate_limit("/help/expenses.html", retry_after=0)
    connector_sync_run(connector_id=website.pk)
    _set(website, state=SyncState.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1))
    assert connectors_due_queue() == 1

    connector_sync_run(connector_id=website.pk)

    website.refresh_from_db()
    assert (website.state, website.added, website.failed) == (SyncState.IDLE, 4, 0)
    assert ConnectorItem.objects.filter(connector=website).exclude(document=None).count() == 4
    assert site.fetched("/help/") == site.fetched("/help/leave.html") == 1
