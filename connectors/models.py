"""A source that syncs into a workspace, and what it knows of each of the source's items."""

from django.conf import settings
from django.db import models

from workspaces.models import Document, Workspace


class SourceKind(models.TextChoices):
    WEBSITE = "website", "Website"
    GOOGLE_DRIVE = "google_drive", "Google Drive"
    CONFLUENCE = "confluence", "Confluence"
    NOTION = "notion", "Notion"
    MICROSOFT = "microsoft", "SharePoint / OneDrive"


class Schedule(models.IntegerChoices):
    """Minutes between two syncs; 0: only when someone asks (Sync now)."""

    MANUAL = 0, "Only when I ask"
    HOURLY = 60, "Every hour"
    DAILY = 1440, "Every day"
    WEEKLY = 10080, "Every week"


class SyncState(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Syncing"
    # Waiting out the source's Retry-After; the checkpoint is kept.
    WAITING = "waiting", "Waiting for the source"
    FAILED = "failed", "Failed"
    # The person's consent it was connected with was revoked or expired: no sync until
    # someone connects it again (Reconnect).
    RECONNECT = "reconnect", "Needs reconnecting"


class Connector(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    name = models.CharField(max_length=120)
    # What to sync, in the source's terms (a website: its start URL or sitemap, a path
    # prefix); never a secret.
    selection = models.JSONField(default=dict)
    # The source's credentials as JSON, Fernet-encrypted (accounts.secrets_at_rest under
    # CONNECTOR_SECRET_KEYS); never shown or logged. Empty: the source needs none.
    credentials_encrypted = models.TextField(blank=True)
    schedule = models.PositiveIntegerField(choices=Schedule.choices, default=Schedule.DAILY)
    # Whether its documents carry the source's readers (connectors.sources.Readers): then
    # only the people the source lets read an item read its document here, within the
    # workspace's grants. On by default: a file restricted at the source stays restricted.
    # A source without permissions (a website) has nothing to mirror.
    mirror_permissions = models.BooleanField(default=True)
    paused = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.IDLE)
    # Whoever added the source: documents are added in their name, so their role on the
    # workspace is what a sync may do.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The sync in progress (or the last one): its number, and the source's own resumption
    # point (a delta token, a listing's progress). Items seen by sync N carry N.
    generation = models.PositiveIntegerField(default=0)
    checkpoint = models.JSONField(default=dict, blank=True)
    # Where the next sync's delta starts, for a source that lists what changed (a Drive
    # changes page token); empty: the next sync lists everything.
    cursor = models.CharField(max_length=500, blank=True)
    listing_complete = models.BooleanField(default=False)
    # The permission-only sync (connectors.permissions): where the source's next read of
    # changed permissions starts (empty: read every item's), and when it last finished.
    readers_cursor = models.CharField(max_length=500, blank=True)
    readers_synced_at = models.DateTimeField(null=True, blank=True)
    sync_started_at = models.DateTimeField(null=True, blank=True)
    # Moved on with every item a running sync finishes: a sync that stops moving lost its
    # worker (CONNECTOR_STALLED_MINUTES).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    retry_after_until = models.DateTimeField(null=True, blank=True)
    # The current (or last) sync's counts and why it stopped, if it did.
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ItemState(models.TextChoices):
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not a document"


class ConnectorItem(models.Model):
    """One item of the source (a page, a file) as the last sync left it."""

    # one_item_per_id leads with the connector: no index of its own.
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    source_id = models.CharField(max_length=2000)
    url = models.URLField(max_length=2000, blank=True)
    # The document it became; null until one is stored (a page that never parsed, say).
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # sha256 of the bytes handed to the knowledge base: equal means nothing to do.
    content_hash = models.CharField(max_length=64, blank=True)
    # The source's validators, sent back to ask whether it changed (If-None-Match /
    # If-Modified-Since) and its own version marker, where it has one.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # Other items this one leads to (a page's links), for a listing that learns them from
    # the items themselves and must still know them when the item is unchanged.
    links = models.JSONField(default=list, blank=True)
    seen_generation = models.PositiveIntegerField(default=0)
    done_generation = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.SYNCED)
    error = models.TextField(blank=True)
    # The connector mirrors permissions and the source has not said who reads the item yet
    # (it was synced before its connector mirrored them): its document is read by nobody
    # until the permission-only sync fills its readers (connectors.permissions).
    readers_pending = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "source_id"], name="one_item_per_id")
        ]
        indexes = [models.Index(fields=["connector", "seen_generation", "done_generation"])]

    def __str__(self) -> str:
        return self.source_id
