"""A sync: the source's items into the workspace, resumable from its checkpoint.

Sync N lists the source (every item it now has gets `seen_generation = N`), then takes the
items seen by N and not yet done by N one at a time: fetched with the validators it last
sent (an unchanged item costs a 304), its content hashed (equal: nothing to do), added
through the workspace's upload service or replaced through its replace service (the same
checks, caps, parsing, chunking, embedding and audit as an upload; the chunks swapped in one
transaction), each item's writes and its `done_generation = N` in one transaction. What N
did not see is gone at the source and is deleted, only when the listing was complete.

So a sync stopped anywhere (a worker killed, a deploy, the source's 429) resumes where it
stopped: the listing is kept (`checkpoint["listed"]`), finished items are not fetched
again, and an item half done has written nothing."""

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import LockError

from accounts.models import User
from billing.caps import CapReached
from billing.redis_connection import redis_client
from connectors.kinds import connector_source
from connectors.models import Connector, ConnectorItem, ItemState, SyncState
from connectors.permissions import groups_sync, mirroring_now, readers_apply
from connectors.services import sync_interval
from connectors.sources import (
    Fetched,
    Gone,
    ItemRef,
    ItemUnreadable,
    Listing,
    RateLimited,
    Source,
    SourceReconnect,
    SourceUnavailable,
    Unchanged,
)
from tenants.schemas import tenant_current
from workspaces.models import Document
from workspaces.services import WorkspaceError, document_delete, document_replace, document_upload

logger = logging.getLogger(__name__)

# What a sync writes of its own row. The rest (schedule, pause, mirroring) are settings that
# people change while it runs: never written back from the sync's copy.
PROGRESS_FIELDS = [
    "checkpoint", "listing_complete", "error", "added", "updated", "unchanged", "removed",
    "failed",
]  # fmt: skip

# Without a Retry-After, a 429 is asked again after this many seconds, doubled each time.
BACKOFF_FIRST_SECONDS = 30


@dataclass(frozen=True)
class SyncOutcome:
    """`retry_after`: seconds to wait before running the sync again (the source said 429);
    None when the sync finished or stopped for good."""

    state: SyncState
    retry_after: float | None = None


def connector_sync_run(*, connector_id: int) -> SyncOutcome:
    """Run (or resume) the connector's sync in this process, one at a time per connector."""
    lock = redis_client().lock(
        f"connector-sync:{tenant_current().schema_name}:{connector_id}",
        timeout=settings.CONNECTOR_STALLED_MINUTES * 60,
        blocking=False,
    )
    if not lock.acquire():
        return SyncOutcome(state=SyncState.RUNNING)  # another worker has it
    try:
        connector = Connector.objects.filter(pk=connector_id).select_related("workspace").first()
        if connector is None or connector.paused:
            return SyncOutcome(state=SyncState.IDLE)
        if connector.state in (SyncState.IDLE, SyncState.FAILED, SyncState.RECONNECT):
            # A second message for a sync already finished: nothing was asked since.
            return SyncOutcome(state=SyncState(connector.state))
        return _sync(connector, lock_extend=lambda: lock.reacquire())
    finally:
        # A lock that expired meanwhile (longer than its timeout between two items) has
        # nothing left to release.
        with contextlib.suppress(LockError):
            lock.release()


def _sync(connector: Connector, *, lock_extend: Callable[[], object]) -> SyncOutcome:
    actor = connector.created_by
    if actor is None or not actor.is_active:
        return _stop(connector, "The person who added this source is no longer a member; "
                     "remove the source and add it again.")  # fmt: skip
    if connector.state == SyncState.QUEUED:
        # Asked for afresh; RUNNING or WAITING is a sync to resume from its checkpoint.
        _generation_start(connector)
    _generation_resume(connector)
    try:
        source = connector_source(connector)
        if not connector.checkpoint.get("listed"):
            _listing_take(connector, source, actor)
        while (item := _next_item(connector)) is not None:
            _item_sync(connector, source, item, actor)
            Connector.objects.filter(pk=connector.pk).update(heartbeat_at=timezone.now())
            lock_extend()
    except RateLimited as limited:
        return _wait(connector, limited.retry_after)
    except SourceReconnect as refusal:
        return _stop(connector, str(refusal), state=SyncState.RECONNECT)
    except SourceUnavailable as refusal:
        return _stop(connector, str(refusal))
    except CapReached as reached:
        return _stop(
            connector,
            f"{reached.summary} The sync stopped there; what was synced before is kept. "
            "Upgrade the plan or delete documents, then sync again.",
        )
    if connector.listing_complete:
        _prune(connector, actor)
    try:
        groups_sync(connector, source)
    except (RateLimited, SourceUnavailable) as reason:
        # The documents are synced; the groups keep the members last read, and the
        # permission-only sync reads them again within minutes.
        logger.warning("groups of connector %s not read: %s", connector.pk, reason)
    return _finish(connector)


def _generation_start(connector: Connector) -> None:
    now = timezone.now()
    connector.generation += 1
    connector.checkpoint, connector.listing_complete, connector.error = {}, False, ""
    connector.added = connector.updated = connector.unchanged = 0
    connector.removed = connector.failed = 0
    connector.sync_started_at = now
    connector.save(update_fields=[*PROGRESS_FIELDS, "generation", "sync_started_at"])


def _generation_resume(connector: Connector) -> None:
    connector.state, connector.heartbeat_at, connector.retry_after_until = (
        SyncState.RUNNING, timezone.now(), None,
    )  # fmt: skip
    connector.save(update_fields=["state", "heartbeat_at", "retry_after_until"])


def _listing_take(connector: Connector, source: Source, actor: User) -> None:
    listing = source.listing()
    with transaction.atomic():
        mirroring_now(connector)  # a delta's removals delete documents
        items = listing.items
        if listing.delta:
            items, removed = _delta_widen(connector, listing)
            _delta_apply(connector, items, removed, actor)
        complete = _items_see(connector, items, source.max_items) and listing.complete
        connector.listing_complete = complete
        connector.checkpoint = {**connector.checkpoint, "listed": True, "cursor": listing.cursor}
        connector.save(update_fields=["listing_complete", "checkpoint"])


def _delta_widen(connector: Connector, listing: Listing) -> tuple[list[ItemRef], list[str]]:
    """A delta with every present item named: what the connector has and is not present
    was removed at the source; what is present and the connector lacks is new to it."""
    if listing.present is None:
        return listing.items, listing.removed
    present = {ref.source_id: ref for ref in listing.present}
    known = set(
        ConnectorItem.objects.filter(connector=connector).values_list("source_id", flat=True)
    )
    changed = {ref.source_id: ref for ref in listing.items if ref.source_id in present}
    changed.update({sid: ref for sid, ref in present.items() if sid not in known})
    removed = set(listing.removed) | (known - present.keys())
    return list(changed.values()), sorted(removed)


def _delta_apply(
    connector: Connector, changed: list[ItemRef], removed: list[str], actor: User
) -> None:
    """What a delta does not name is as the last sync left it: seen and done by this one.
    What it names as removed is deleted now; what it names as changed is fetched."""
    for item in ConnectorItem.objects.filter(connector=connector, source_id__in=removed):
        _item_remove(connector, item, actor)
    changed_ids = [ref.source_id for ref in changed]
    ConnectorItem.objects.filter(connector=connector).exclude(source_id__in=changed_ids).update(
        seen_generation=connector.generation, done_generation=connector.generation
    )
    ConnectorItem.objects.filter(connector=connector, source_id__in=changed_ids).update(
        seen_generation=connector.generation
    )


def _items_see(connector: Connector, refs: list[ItemRef], limit: int | None) -> bool:
    """Mark the items seen by this sync (new ones created); False when the source's cap
    on items a sync reads (`limit`) left some out, so the listing cannot be complete."""
    seen = ConnectorItem.objects.filter(connector=connector, seen_generation=connector.generation)
    room = len(refs) if limit is None else limit - seen.count()
    fresh = [ref for ref in refs if not seen.filter(source_id=ref.source_id).exists()]
    for ref in fresh[: max(room, 0)]:
        ConnectorItem.objects.update_or_create(
            connector=connector, source_id=ref.source_id,
            defaults={"url": ref.url, "seen_generation": connector.generation},
        )  # fmt: skip
    return len(fresh) <= room


def _next_item(connector: Connector) -> ConnectorItem | None:
    return (
        ConnectorItem.objects.filter(
            connector=connector,
            seen_generation=connector.generation,
            done_generation__lt=connector.generation,
        )
        .select_related("document")
        .order_by("pk")
        .first()
    )


def _item_sync(connector: Connector, source: Source, item: ConnectorItem, actor: User) -> None:
    document = item.document
    try:
        result = source.fetch(
            ItemRef(item.source_id, item.url),
            etag=item.etag if document else "",
            last_modified=item.last_modified if document else "",
        )
    except ItemUnreadable as reason:
        with transaction.atomic():
            mirroring_now(connector)  # the connector's row before its items', as always
            # Its links are unknown this time: the ones it had last time are followed, so
            # that what only it leads to is still seen and never pruned for its failure.
            _item_links_follow(connector, item.links)
            _item_fail(connector, item, str(reason))
        return
    with transaction.atomic():
        mirroring_now(connector)
        item.refresh_from_db(fields=["readers_pending"])  # mirroring may have turned since
        if isinstance(result, Unchanged):
            _item_links_follow(connector, item.links)
            if result.readers is not None:
                readers_apply(connector, item, result.readers)
            _item_done(connector, item, counter="unchanged")
        elif isinstance(result, Gone):
            _item_remove(connector, item, actor)
        else:
            _item_store(connector, item, result, actor)


def _item_store(connector: Connector, item: ConnectorItem, fetched: Fetched, actor: User) -> None:
    _item_links_follow(connector, [link.source_id for link in fetched.links])
    item.links = [link.source_id for link in fetched.links]
    item.etag, item.last_modified = fetched.etag[:500], fetched.last_modified[:100]
    content_hash = hashlib.sha256(fetched.data).hexdigest()
    document = item.document
    upload = ContentFile(fetched.data, name=fetched.filename)
    try:
        # A savepoint: a refused item leaves the item's own bookkeeping writable.
        with transaction.atomic():
            if document is not None and content_hash == document.sha256:
                counter = "unchanged"
            elif document is not None:
                document_replace(actor=actor, document=document, upload=upload)
                Document.objects.filter(pk=document.pk).update(source_url=fetched.url)
                counter = "updated"
            else:
                item.document = document_upload(
                    actor=actor, workspace=connector.workspace, upload=upload,
                    title=fetched.title, source_url=fetched.url,
                )  # fmt: skip
                counter = "added"
    except WorkspaceError as refusal:
        _item_fail(connector, item, str(refusal))
        return
    # In the transaction that adds the document: it is never readable without its readers.
    assert item.document is not None  # stored above, or there before
    readers_apply(connector, item, fetched.readers)
    item.content_hash, item.state, item.error = content_hash, ItemState.SYNCED, ""
    _item_done(connector, item, counter=counter)


def _item_links_follow(connector: Connector, source_ids: list[str]) -> None:
    """A website's links, as items this sync must see too (a link's id is its URL)."""
    refs = [ItemRef(source_id, source_id) for source_id in source_ids]
    if (
        not _items_see(connector, refs, settings.CONNECTOR_WEBSITE_MAX_PAGES)
        and connector.listing_complete
    ):
        connector.listing_complete = False
        connector.save(update_fields=["listing_complete"])


def _item_done(connector: Connector, item: ConnectorItem, *, counter: str) -> None:
    item.done_generation = connector.generation
    item.save()
    Connector.objects.filter(pk=connector.pk).update(**{counter: F(counter) + 1})


def _item_fail(connector: Connector, item: ConnectorItem, reason: str) -> None:
    """The item keeps its document (the last version that synced) and says why not now."""
    item.state, item.error = ItemState.FAILED, reason
    _item_done(connector, item, counter="failed")


def _item_remove(connector: Connector, item: ConnectorItem, actor: User) -> None:
    if item.document is not None:
        document_delete(actor=actor, document=item.document)
        Connector.objects.filter(pk=connector.pk).update(removed=F("removed") + 1)
    item.delete()


def _prune(connector: Connector, actor: User) -> None:
    """Delete what this complete sync did not see: it is gone at the source."""
    gone = ConnectorItem.objects.filter(
        connector=connector, seen_generation__lt=connector.generation
    ).select_related("document")
    for item in gone:
        with transaction.atomic():
            mirroring_now(connector)
            _item_remove(connector, item, actor)


def _finish(connector: Connector) -> SyncOutcome:
    connector.refresh_from_db()
    now = timezone.now()
    connector.cursor = connector.checkpoint.get("cursor", "")
    connector.state, connector.checkpoint = SyncState.IDLE, {}
    connector.last_synced_at = now
    connector.next_sync_at = _next_sync_at(connector, now)
    connector.save(
        update_fields=["cursor", "state", "checkpoint", "last_synced_at", "next_sync_at"]
    )
    return SyncOutcome(state=SyncState.IDLE)


def _next_sync_at(connector: Connector, now: datetime) -> datetime | None:
    if not connector.schedule:
        return None
    return now + timedelta(minutes=sync_interval(connector.schedule))


def _stop(connector: Connector, reason: str, *, state: SyncState = SyncState.FAILED) -> SyncOutcome:
    """The sync cannot go on now: say why; the next one starts afresh (items done by this
    one are not fetched again unless they changed). A source to reconnect is not synced
    again on its schedule: only a new consent helps."""
    connector.refresh_from_db()
    connector.state, connector.error, connector.checkpoint = state, reason, {}
    now = timezone.now()
    connector.next_sync_at = None if state == SyncState.RECONNECT else _next_sync_at(connector, now)
    connector.save(update_fields=["state", "error", "checkpoint", "next_sync_at"])
    return SyncOutcome(state=state)


def _wait(connector: Connector, retry_after: float | None) -> SyncOutcome:
    attempts = int(connector.checkpoint.get("rate_limited", 0)) + 1
    seconds = (
        retry_after if retry_after is not None else BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1)
    )
    seconds = min(seconds, settings.CONNECTOR_RETRY_AFTER_MAX_SECONDS)
    connector.refresh_from_db()
    connector.state = SyncState.WAITING
    connector.checkpoint = {**connector.checkpoint, "rate_limited": attempts}
    connector.retry_after_until = timezone.now() + timedelta(seconds=seconds)
    connector.save(update_fields=["state", "checkpoint", "retry_after_until"])
    return SyncOutcome(state=SyncState.WAITING, retry_after=seconds)
