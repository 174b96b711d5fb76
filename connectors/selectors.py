"""Reads of connectors. Whom a page shows them to is the access policy's answer
(workspaces.access.sources_manageable, asked by the views)."""

from dataclasses import dataclass

from django.db.models import Count, Q

from connectors.models import Connector, ConnectorItem, ItemState
from workspaces.models import Workspace

FAILURES_SHOWN = 20


@dataclass(frozen=True)
class SyncProgress:
    done: int
    seen: int

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.seen) if self.seen else 0


def connector_count() -> int:
    """The organization's sources, for its plan's cap (registered with billing.usage)."""
    return Connector.objects.count()


def connector_list(*, workspace: Workspace) -> list[Connector]:
    return list(Connector.objects.filter(workspace=workspace))


def connector_get(*, workspace: Workspace, connector_id: int) -> Connector | None:
    return Connector.objects.filter(workspace=workspace, pk=connector_id).first()


def connector_progress(*, connector: Connector) -> SyncProgress:
    """How far the current sync is: items done by it out of those it has seen so far (a
    site's pages are learnt as it goes, so the total can grow)."""
    counts = ConnectorItem.objects.filter(
        connector=connector, seen_generation=connector.generation
    ).aggregate(seen=Count("pk"), done=Count("pk", filter=Q(done_generation=connector.generation)))
    return SyncProgress(done=counts["done"], seen=counts["seen"])


def connector_failures(*, connector: Connector) -> list[ConnectorItem]:
    """Items that did not sync the last time they were tried, with the reason."""
    return list(
        ConnectorItem.objects.filter(connector=connector, state=ItemState.FAILED).order_by("url")[
            :FAILURES_SHOWN
        ]
    )


def connector_document_count(*, connector: Connector) -> int:
    return ConnectorItem.objects.filter(connector=connector).exclude(document=None).count()


def connector_pending_count(*, connector: Connector) -> int:
    """Documents that nobody reads until the source says who may (ConnectorItem.
    readers_pending): shown to the source's managers, as a count (their titles are no more
    theirs to see than anyone's)."""
    return (
        ConnectorItem.objects.filter(connector=connector, readers_pending=True)
        .exclude(document=None)
        .count()
    )
