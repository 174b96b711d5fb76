"""The source's permissions on the connector's documents: applied by every content sync to
the items it reads, and by the permission-only sync, which reads no content.

The permission-only sync asks the source (a `PermissionSource`) for the readers of the items
the connector holds documents for: with the cursor of its last run, only those whose
permissions changed since; then the members of every source group those documents name.
Beat queues it every CONNECTOR_PERMISSIONS_SYNC_MINUTES for each connector that mirrors
permissions (connectors.services.connectors_due_queue), far more often than content syncs,
so that a person removed from a file's readers at the source stops reading it here within
minutes. It takes the connector's sync lock: while a content sync runs, that sync applies
the readers of what it reads, and the permission-only sync waits for the next round."""

import contextlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError

from billing.redis_connection import redis_client
from connectors.kinds import PERMISSION_KINDS, connector_source
from connectors.models import Connector, ConnectorItem, SyncState
from connectors.sources import (
    ItemRef,
    PermissionSource,
    RateLimited,
    Readers,
    Source,
    SourceReconnect,
    SourceUnavailable,
)
from tenants.schemas import tenant_current
from workspaces.readers import (
    NOBODY,
    UNRESTRICTED,
    DocumentReaders,
    document_readers_set,
    source_group_members_set,
    source_groups_named,
)

logger = logging.getLogger(__name__)


def group_key(connector: Connector, group: str) -> str:
    """A source group's key in the knowledge base: its source's kind and its id there."""
    return f"{connector.kind}:{group.strip().lower()}"


def mirroring_now(connector: Connector) -> bool:
    """Lock the connector's row for the caller's transaction and read whether it mirrors
    its source's permissions now. Every transaction that writes a connector's documents
    takes it first, as turning mirroring on or off does (connectors.services), so that a
    sync never applies readers under a setting changed meanwhile, and no two of them wait
    on each other in opposite orders."""
    mirroring = (
        Connector.objects.select_for_update()
        .filter(pk=connector.pk)
        .values_list("mirror_permissions", flat=True)
        .first()
    )
    connector.mirror_permissions = bool(mirroring)
    return connector.mirror_permissions


def readers_pending(connector: Connector, readers: Readers | None) -> bool:
    """Whether a document synced with `readers` waits for them: the connector mirrors a
    source that has permissions, and the source did not say (None)."""
    return connector.mirror_permissions and readers is None and connector.kind in PERMISSION_KINDS


def document_readers(connector: Connector, readers: Readers | None) -> DocumentReaders:
    """What a document synced with `readers` carries: nothing when the connector does not
    mirror permissions, the source has none or the item is public; nobody while a source
    with permissions has not said (fail closed: the permission-only sync fills them)."""
    if readers_pending(connector, readers):
        return NOBODY
    if not connector.mirror_permissions or readers is None or readers.public:
        return UNRESTRICTED
    return DocumentReaders(
        restricted=True,
        emails=readers.emails,
        groups=frozenset(group_key(connector, group) for group in readers.groups),
        domains=readers.domains,
    )


@transaction.atomic
def readers_apply(connector: Connector, item: ConnectorItem, readers: Readers | None) -> bool:
    """Give a synced item's document its source's readers (under the connector's setting as
    it is now); returns whether they changed."""
    mirroring_now(connector)
    pending = readers_pending(connector, readers)
    if item.readers_pending != pending:
        item.readers_pending = pending
        ConnectorItem.objects.filter(pk=item.pk).update(readers_pending=pending)
    if item.document is None:
        return False
    return document_readers_set(
        document=item.document, readers=document_readers(connector, readers)
    )


def groups_sync(connector: Connector, source: Source | PermissionSource) -> int:
    """The members of every source group the connector's documents name, as the source
    says now; a group the source will not describe lets nobody in. Returns how many groups
    changed."""
    if not connector.mirror_permissions or not isinstance(source, PermissionSource):
        return 0
    prefix = group_key(connector, "")
    document_ids = ConnectorItem.objects.filter(connector=connector).exclude(document=None)
    changed = 0
    for key in source_groups_named(
        prefix=prefix, document_ids=document_ids.values_list("document_id", flat=True)
    ):
        members = source.group_members(key.removeprefix(prefix))
        changed += source_group_members_set(key=key, members=members or [])
    return changed


def connector_readers_sync(*, connector_id: int) -> int:
    """The permission-only sync of one connector; returns how many documents' readers
    changed (0 when it did not run: paused, not mirroring, a content sync under way, waiting
    for a reconnect, or a source without permissions). A content sync that stopped (a 429, a
    failure) does not stop this one: a revoked reader must not wait for the content to sync
    again."""
    lock = redis_client().lock(
        f"connector-sync:{tenant_current().schema_name}:{connector_id}",
        timeout=settings.CONNECTOR_STALLED_MINUTES * 60,
        blocking=False,
    )
    if not lock.acquire():
        return 0
    try:
        connector = Connector.objects.filter(pk=connector_id).select_related("workspace").first()
        if connector is None or connector.paused or not connector.mirror_permissions:
            return 0
        if connector.state == SyncState.RECONNECT:
            return 0  # nothing to read it with until someone connects it again
        return _readers_sync(connector)
    finally:
        with contextlib.suppress(LockError):
            lock.release()


def _readers_sync(connector: Connector) -> int:
    changed, cursor = 0, ""
    try:
        source = connector_source(connector)
        if isinstance(source, PermissionSource):
            changed, cursor = _readers_read(connector, source)
    except SourceReconnect as refusal:
        # The consent it was connected with is gone: say so on its card now, not at the
        # next content sync; neither sync runs again until it is reconnected.
        Connector.objects.filter(pk=connector.pk).update(
            state=SyncState.RECONNECT, error=str(refusal), next_sync_at=None
        )
        return 0
    except (RateLimited, SourceUnavailable) as reason:
        # Asked again at beat's next round; the readers stay as the last sync left them.
        logger.warning("permission sync of connector %s stopped: %s", connector.pk, reason)
        return 0
    Connector.objects.filter(pk=connector.pk).update(
        readers_cursor=cursor[:500], readers_synced_at=timezone.now()
    )
    return changed


def _readers_read(connector: Connector, source: PermissionSource) -> tuple[int, str]:
    """Apply the readers the source gives (those changed since the cursor, or all; and all
    of those still pending, whatever the cursor) and its groups' members; returns how many
    documents changed, and the next cursor."""
    items = list(
        ConnectorItem.objects.filter(connector=connector)
        .exclude(document=None)
        .select_related("document")
    )
    listing = source.readers(
        [ItemRef(item.source_id, item.url) for item in items], cursor=connector.readers_cursor
    )
    found = dict(listing.readers)
    pending = [ItemRef(item.source_id, item.url) for item in items if item.readers_pending]
    if pending and connector.readers_cursor:
        # Read after the changes: what it says is the newer word on those items.
        found.update(source.readers(pending, cursor="").readers)
    changed = 0
    by_id = {item.source_id: item for item in items}
    for source_id, readers in found.items():
        item = by_id.get(source_id)
        if item is not None:
            changed += readers_apply(connector, item, readers)
    groups_sync(connector, source)
    return changed, listing.cursor
