"""Writes to connectors: add, change, sync now, remove; each with its audit event."""

from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.secrets_at_rest import KeyServiceUnavailable
from audit.models import AuditAction
from audit.services import audit_record
from billing.caps import cap_ensure, sync_interval_least, sync_interval_refusal
from connectors.credentials import credentials_seal
from connectors.kinds import PERMISSION_KINDS
from connectors.models import Connector, ConnectorItem, Schedule, SourceKind, SyncState
from connectors.permissions import mirroring_now
from connectors.sources import SourceUnavailable
from connectors.sources.confluence import space_keys_refusal
from connectors.sources.google_drive import service_account_refusal
from connectors.sources.guarded_http import address_ensure_public
from connectors.sources.microsoft import selection_refusal
from connectors.sources.website import scope_default
from tenants.schemas import tenant_current
from workspaces.access import source_mirroring_liftable, sources_manageable
from workspaces.lanes import large_lane, task_send
from workspaces.models import Document, Workspace
from workspaces.readers import NOBODY, UNRESTRICTED, documents_readers_reset
from workspaces.services import document_delete

SYNC_TASK = "connectors.tasks.connector_sync_task"
READERS_SYNC_TASK = "connectors.tasks.connector_readers_sync_task"


class ConnectorError(Exception):
    """A refusal, worded for the person."""


def _ensure_manager(actor: User, workspace: Workspace | None = None) -> None:
    if not sources_manageable(user=actor, workspace=workspace):
        raise ConnectorError("Only owners and admins connect and manage sources.")


@transaction.atomic
def website_connector_add(
    *,
    actor: User,
    workspace: Workspace,
    start_url: str,
    prefix: str = "",
    schedule: Schedule = Schedule.DAILY,
    username: str = "",
    password: str = "",
) -> Connector:
    """A website source (a start URL whose pages are followed within `prefix`, or a
    sitemap.xml), synced at once and then on `schedule`."""
    _ensure_manager(actor, workspace)
    start_url = start_url.strip()
    try:
        address_ensure_public(start_url)
    except SourceUnavailable as refusal:
        raise ConnectorError(str(refusal)) from None
    prefix = prefix.strip() or scope_default(start_url)
    if urlsplit(prefix).netloc != urlsplit(start_url).netloc:
        raise ConnectorError("The path prefix must be on the same site as the start URL.")
    credentials = {"username": username, "password": password} if username else {}
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.WEBSITE,
        name=urlsplit(start_url).netloc, selection={"start_url": start_url, "prefix": prefix},
        credentials=credentials, schedule=schedule,
    )  # fmt: skip


@transaction.atomic
def drive_connector_add(
    *,
    actor: User,
    workspace: Workspace,
    key_file: str,
    folder_id: str = "",
    subject: str = "",
    schedule: Schedule = Schedule.DAILY,
    mirror_permissions: bool = True,
) -> Connector:
    """A Google Drive source read as a service account (acting as `subject` when given,
    through domain-wide delegation): the files of `folder_id`, or all it may read. With
    `mirror_permissions`, each file is read here only by those it is shared with there."""
    _ensure_manager(actor, workspace)
    refusal = service_account_refusal(key_file)
    if refusal:
        raise ConnectorError(refusal)
    folder_id = folder_id.strip()
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.GOOGLE_DRIVE,
        name=f"Google Drive{f' folder {folder_id}' if folder_id else ''}",
        selection={"folder_id": folder_id, "subject": subject.strip()},
        credentials={"key_file": key_file}, schedule=schedule,
        mirror_permissions=mirror_permissions,
    )  # fmt: skip


@transaction.atomic
def drive_consented_connector_add(
    *,
    actor: User,
    workspace: Workspace,
    credentials: dict[str, str],
    account: str = "",
    folder_id: str = "",
    schedule: Schedule = Schedule.DAILY,
    mirror_permissions: bool = True,
) -> Connector:
    """A Google Drive source read as the person who consented (`credentials`: the refresh
    token their consent gave, connectors.consent): the files of `folder_id`, or all they
    may read."""
    _ensure_manager(actor, workspace)
    if not credentials.get("refresh_token"):
        raise ConnectorError("Connect Google Drive again: its access was not kept.")
    folder_id = folder_id.strip()
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.GOOGLE_DRIVE,
        name=f"Google Drive{f' folder {folder_id}' if folder_id else ''}"
        + (f" · {account}" if account else ""),
        selection={"folder_id": folder_id, "subject": "", "consent": True,
                   "connected_as": account},
        credentials=credentials, schedule=schedule, mirror_permissions=mirror_permissions,
    )  # fmt: skip


@transaction.atomic
def microsoft_consented_connector_add(
    *,
    actor: User,
    workspace: Workspace,
    credentials: dict[str, str],
    account: str = "",
    site_url: str = "",
    user: str = "",
    folder: str = "",
    schedule: Schedule = Schedule.DAILY,
    mirror_permissions: bool = True,
) -> Connector:
    """A SharePoint site's library or a OneDrive (or a folder of it) read as the person who
    consented (`credentials`: their refresh token and tenant, connectors.consent)."""
    _ensure_manager(actor, workspace)
    if not credentials.get("refresh_token"):
        raise ConnectorError("Connect SharePoint / OneDrive again: its access was not kept.")
    name, selection = _microsoft_selection(site_url=site_url, user=user, folder=folder)
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.MICROSOFT, name=name,
        selection={**selection, "consent": True,
                   "connected_as": account},
        credentials=credentials, schedule=schedule, mirror_permissions=mirror_permissions,
    )  # fmt: skip


@transaction.atomic
def connector_reconnect(
    *, actor: User, connector: Connector, credentials: dict[str, str], account: str = ""
) -> Connector:
    """A new consent for a source connected by one (its grant revoked or expired): the new
    refresh token replaces the old, and a sync starts."""
    _ensure_manager(actor, connector.workspace)
    if not connector.selection.get("consent"):
        raise ConnectorError("This source was not connected by a consent; nothing to reconnect.")
    try:
        connector.credentials_encrypted = credentials_seal(credentials)
    except KeyServiceUnavailable as refusal:
        raise ConnectorError(str(refusal)) from None
    connector.selection = {**connector.selection, "connected_as": account}
    connector.error = ""
    if connector.state == SyncState.RECONNECT:
        connector.state = SyncState.IDLE
    connector.save(update_fields=["credentials_encrypted", "selection", "error", "state"])
    audit_record(
        actor=actor, action=AuditAction.SOURCE_RECONNECTED, target=connector,
        target_label=connector.name, details={"connected_as": account},
    )  # fmt: skip
    if not connector.paused and connector.state not in (SyncState.RUNNING, SyncState.QUEUED):
        _sync_queue(connector)
    return connector


@transaction.atomic
def connector_consent_failed(
    *, actor: User, workspace: Workspace | None, provider: str, reason: str
) -> None:
    """A consent that did not give us access (denied, refused by the provider, a state that
    does not belong here), recorded where sources' changes are; nothing else is stored."""
    audit_record(
        actor=actor, action=AuditAction.SOURCE_CONSENT_FAILED,
        target_label=workspace.name if workspace else "",
        details={"provider": provider, "reason": reason[:500],
                 "workspace": workspace.name if workspace else ""},
    )  # fmt: skip


def connector_create(
    *,
    actor: User,
    workspace: Workspace,
    kind: SourceKind,
    name: str,
    selection: dict[str, Any],
    credentials: dict[str, str],
    schedule: int,
    mirror_permissions: bool = True,
) -> Connector:
    """What adding any kind of source ends in, once its kind's function has checked the
    selection and credentials: the plan's limits (its number of sources, raising
    billing.caps.CapReached, and its shortest schedule), the row with the credentials
    sealed, the audit event, and the first sync queued. Call it inside the adding
    transaction (the cap's lock is held until it commits)."""
    _ensure_manager(actor, workspace)
    _ensure_schedule_allowed(schedule)
    cap_ensure(organization=tenant_current(), meter="sources")
    try:
        sealed = credentials_seal(credentials)
    except KeyServiceUnavailable as refusal:
        raise ConnectorError(str(refusal)) from None
    connector = Connector.objects.create(
        workspace=workspace, kind=kind, name=name[:120], selection=selection,
        credentials_encrypted=sealed, schedule=schedule,
        mirror_permissions=mirror_permissions, created_by=actor,
    )  # fmt: skip
    audit_record(
        actor=actor, action=AuditAction.SOURCE_ADDED, target=connector,
        target_label=connector.name,
        details={"workspace": workspace.name, "kind": connector.kind, **selection,
                 "credentials": bool(credentials), "mirror_permissions": mirror_permissions},
    )  # fmt: skip
    _sync_queue(connector)
    return connector


def _ensure_schedule_allowed(schedule: int) -> None:
    refusal = sync_interval_refusal(organization=tenant_current(), minutes=schedule)
    if refusal:
        raise ConnectorError(refusal)


@transaction.atomic
def confluence_connector_add(
    *,
    actor: User,
    workspace: Workspace,
    site_url: str,
    email: str,
    api_token: str,
    spaces: list[str],
    schedule: Schedule = Schedule.DAILY,
    mirror_permissions: bool = True,
) -> Connector:
    """A Confluence Cloud site read with an Atlassian account's email and API token: the
    pages of `spaces` (their keys) and their attachments. With `mirror_permissions`, each
    page is read here only by those who may view it there (its space's View permission and
    its restrictions)."""
    _ensure_manager(actor, workspace)
    site_url = site_url.strip().rstrip("/")
    if site_url.endswith("/wiki"):
        site_url = site_url.removesuffix("/wiki")
    try:
        address_ensure_public(site_url)
    except SourceUnavailable as refusal:
        raise ConnectorError(str(refusal)) from None
    spaces = list(dict.fromkeys(key.strip() for key in spaces if key.strip()))
    spaces_refusal = space_keys_refusal(spaces)
    if spaces_refusal:
        raise ConnectorError(spaces_refusal)
    if not api_token.strip():
        raise ConnectorError("Paste the API token made for that email's Atlassian account.")
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.CONFLUENCE,
        name=f"Confluence {urlsplit(site_url).netloc} ({', '.join(spaces)})",
        selection={"site_url": site_url, "spaces": spaces},
        credentials={"email": email.strip(), "api_token": api_token.strip()},
        schedule=schedule, mirror_permissions=mirror_permissions,
    )  # fmt: skip


@transaction.atomic
def notion_connector_add(
    *, actor: User, workspace: Workspace, token: str, schedule: Schedule = Schedule.DAILY
) -> Connector:
    """A Notion workspace read with an internal integration's token: every page shared
    with the integration, database rows included."""
    _ensure_manager(actor, workspace)
    token = token.strip()
    if not token:
        raise ConnectorError("Paste the integration's secret (its Internal Integration Token).")
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.NOTION, name="Notion", selection={},
        credentials={"token": token}, schedule=schedule,
    )  # fmt: skip


@transaction.atomic
def microsoft_connector_add(
    *,
    actor: User,
    workspace: Workspace,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    site_url: str = "",
    user: str = "",
    folder: str = "",
    schedule: Schedule = Schedule.DAILY,
    mirror_permissions: bool = True,
) -> Connector:
    """A SharePoint site's document library (`site_url`) or a user's OneDrive (`user`), or
    one folder of it, read through Microsoft Graph as an app registration (client
    credentials; an admin granted it Files.Read.All or Sites.Read.All). With
    `mirror_permissions`, each file is read here only by those it is shared with there."""
    _ensure_manager(actor, workspace)
    name, selection = _microsoft_selection(site_url=site_url, user=user, folder=folder)
    return connector_create(
        actor=actor, workspace=workspace, kind=SourceKind.MICROSOFT, name=name,
        selection=selection,
        credentials={"tenant_id": tenant_id.strip(), "client_id": client_id.strip(),
                     "client_secret": client_secret},
        schedule=schedule, mirror_permissions=mirror_permissions,
    )  # fmt: skip


def _microsoft_selection(*, site_url: str, user: str, folder: str) -> tuple[str, dict[str, str]]:
    """A SharePoint library or OneDrive source's name and selection (refused with a sentence
    when neither or both of a site and a user are given)."""
    site_url, user, folder = site_url.strip(), user.strip().lower(), folder.strip().strip("/")
    refusal = selection_refusal(site_url=site_url, user=user)
    if refusal:
        raise ConnectorError(refusal)
    where = urlsplit(site_url).path.rstrip("/").rsplit("/", 1)[-1] if site_url else user
    name = f"{'SharePoint' if site_url else 'OneDrive'} {where or urlsplit(site_url).netloc}"
    return (
        f"{name} · {folder}" if folder else name,
        {"site_url": site_url, "user": user, "folder": folder},
    )


def _sync_queue(connector: Connector) -> None:
    """Queue the connector's sync once the caller's transaction commits. Syncs go to the
    large lane: a long walk through a source must never hold the workers that ingest
    uploads; the documents it adds are ingested on their own lanes."""
    if connector.state not in (SyncState.RUNNING, SyncState.WAITING):
        connector.state = SyncState.QUEUED
    # Beat queues it again if nothing takes it (CONNECTOR_STALLED_MINUTES).
    connector.heartbeat_at = timezone.now()
    connector.save(update_fields=["state", "heartbeat_at"])
    transaction.on_commit(partial(task_send, SYNC_TASK, connector.pk, queue=large_lane()))


@transaction.atomic
def connector_sync_request(*, actor: User, connector: Connector) -> Connector:
    """Sync now ("Sync now"); a sync already running goes on (a second one would be
    skipped by its lock)."""
    _ensure_manager(actor, connector.workspace)
    if connector.paused:
        raise ConnectorError("This source is paused; resume it to sync.")
    if connector.state in (SyncState.RUNNING, SyncState.QUEUED):
        raise ConnectorError("This source is syncing already.")
    if connector.state == SyncState.RECONNECT:
        raise ConnectorError("This source must be reconnected before it can sync.")
    audit_record(
        actor=actor, action=AuditAction.SOURCE_SYNC_REQUESTED, target=connector,
        target_label=connector.name,
    )  # fmt: skip
    _sync_queue(connector)
    return connector


@transaction.atomic
def connector_settings_set(
    *,
    actor: User,
    connector: Connector,
    schedule: Schedule,
    paused: bool,
    mirror_permissions: bool | None = None,
) -> Connector:
    """A source's schedule, pause and (for a source with permissions; None: as it is)
    whether its documents carry the source's readers (see mirroring_set)."""
    _ensure_manager(actor, connector.workspace)
    mirroring_now(connector)  # the row is locked: a sync's item waits, or is done
    connector.refresh_from_db()
    if schedule != connector.schedule:
        # A schedule kept from a richer plan may stay; a new one keeps to the plan.
        _ensure_schedule_allowed(schedule)
    mirroring = connector.mirror_permissions if mirror_permissions is None else mirror_permissions
    if not mirroring and connector.mirror_permissions and not source_mirroring_liftable(user=actor):
        raise ConnectorError(
            "Only owners and admins, signed in as themselves, stop mirroring a source's "
            "permissions: everyone who reads the workspace would then read its documents."
        )
    if mirroring and not connector.mirror_permissions and connector.kind not in PERMISSION_KINDS:
        raise ConnectorError(
            f"{connector.get_kind_display()} sources do not say who may read each item: "
            "there are no permissions to mirror."
        )
    before = {"schedule": connector.schedule, "paused": connector.paused,
              "mirror_permissions": connector.mirror_permissions}  # fmt: skip
    connector.schedule, connector.paused = schedule, paused
    last = connector.last_synced_at or timezone.now()
    connector.next_sync_at = last + timedelta(minutes=sync_interval(schedule)) if schedule else None
    connector.save(update_fields=["schedule", "paused", "next_sync_at"])
    if mirroring != connector.mirror_permissions:
        _mirroring_set(connector, mirroring)
    audit_record(
        actor=actor, action=AuditAction.SOURCE_CHANGED, target=connector,
        target_label=connector.name,
        details={"before": before, "after": {"schedule": schedule, "paused": paused,
                                             "mirror_permissions": mirroring}},
    )  # fmt: skip
    return connector


def _mirroring_set(connector: Connector, mirroring: bool) -> None:
    """Turn mirroring on: every document of the source is read by nobody (fail closed) and
    marked pending until the permission-only sync, queued now and reading every item
    afresh, fills its readers. Off: every document is read by the workspace's grants alone
    again. The connector's row is locked (by the caller), so no sync writes its documents
    meanwhile."""
    items = ConnectorItem.objects.filter(connector=connector).exclude(document=None)
    document_ids = list(items.values_list("document_id", flat=True))
    connector.mirror_permissions = mirroring
    connector.readers_cursor, connector.readers_synced_at = "", None
    connector.save(update_fields=["mirror_permissions", "readers_cursor", "readers_synced_at"])
    items.update(readers_pending=mirroring)
    readers = NOBODY if mirroring else UNRESTRICTED
    documents_readers_reset(document_ids=document_ids, readers=readers)
    if mirroring and not connector.paused:
        transaction.on_commit(
            partial(
                task_send, READERS_SYNC_TASK, connector.pk,
                queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            )
        )  # fmt: skip


@transaction.atomic
def connector_remove(*, actor: User, connector: Connector, documents_too: bool) -> int:
    """Remove the source; with `documents_too`, the documents it synced as well (each
    deleted as a person's delete is, audited). Returns how many documents were deleted."""
    _ensure_manager(actor, connector.workspace)
    mirroring_now(connector)  # the row first, as a sync's writes take it (no deadlock)
    deleted = 0
    if documents_too:
        document_ids = connector.items.exclude(document=None).values_list("document", flat=True)
        for document in Document.objects.filter(pk__in=list(document_ids)):
            document_delete(actor=actor, document=document)
            deleted += 1
    audit_record(
        actor=actor, action=AuditAction.SOURCE_REMOVED, target=connector,
        target_label=connector.name,
        details={"workspace": connector.workspace.name, "documents_deleted": deleted},
    )  # fmt: skip
    connector.delete()
    return deleted


def sync_interval(schedule: int) -> int:
    """Minutes until a source on `schedule` syncs again: its schedule, or the plan's
    shortest when that is longer (a schedule chosen on a richer plan, after a downgrade)."""
    return max(schedule, sync_interval_least(organization=tenant_current()))


def connectors_due_queue() -> int:
    """Queue the syncs of the schema in force that are due: their schedule came round,
    their Retry-After passed, or they stopped moving (their worker died, or their message
    was lost: they resume from their checkpoint). Returns how many were queued."""
    now = timezone.now()
    stalled = now - timedelta(minutes=settings.CONNECTOR_STALLED_MINUTES)
    scheduled = Q(state__in=[SyncState.IDLE, SyncState.FAILED], next_sync_at__lte=now)
    resting = Q(state=SyncState.WAITING, retry_after_until__lte=now)
    stuck = Q(state__in=[SyncState.RUNNING, SyncState.QUEUED], heartbeat_at__lt=stalled)
    queued = 0
    for connector in Connector.objects.filter(scheduled | resting | stuck, paused=False):
        with transaction.atomic():
            _sync_queue(connector)
        queued += 1
    return queued


def connectors_readers_due_queue() -> int:
    """Queue the permission-only syncs of the schema in force that are due: every
    CONNECTOR_PERMISSIONS_SYNC_MINUTES for each connector that mirrors its source's
    permissions and has synced once, whatever its content schedule (a manual one too).
    Returns how many were queued."""
    due = timezone.now() - timedelta(minutes=settings.CONNECTOR_PERMISSIONS_SYNC_MINUTES)
    connectors = Connector.objects.filter(
        Q(readers_synced_at__isnull=True) | Q(readers_synced_at__lte=due),
        paused=False, mirror_permissions=True, last_synced_at__isnull=False,
        kind__in=PERMISSION_KINDS,
    ).exclude(state=SyncState.RECONNECT)  # fmt: skip
    queued = 0
    for connector_id in connectors.values_list("pk", flat=True):
        transaction.on_commit(
            partial(
                task_send, READERS_SYNC_TASK, connector_id,
                queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            )
        )  # fmt: skip
        queued += 1
    return queued
