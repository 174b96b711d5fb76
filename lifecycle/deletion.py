"""Deleting an organization: an owner schedules it (typed confirmation, a code from their
authenticator app if they have one), the organization is read-only for the grace period
and the deletion can be cancelled meanwhile; then Celery deletes it step by step.

Each step is idempotent and recorded when done (tenants.models.OrganizationDeletion), so a
failed run is retried from the step that failed; the platform operator sees the steps, the
attempts and the last error in the admin, and can run it again from there. What remains is
the tombstone and the public ledger rows invoices are reconciled against."""

import re
import shutil
from datetime import datetime, timedelta

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from billing.redis_connection import redis_client
from billing.services import billing_organization_forget, billing_subscription_end
from tenants.models import Organization, OrganizationDeletion
from tenants.schemas import tenant_current

STEPS = [
    "subscription_cancelled",
    "files_deleted",
    "redis_keys_deleted",
    "schema_dropped",
    "organization_removed",
]
SCHEMA_NAME = re.compile(r"^org_[a-z0-9_]+$")


class DeletionRefused(Exception):
    """A deletion that cannot be scheduled or cancelled; the message is for the person."""


def _code_check(actor: User, code: str) -> None:
    totp = Authenticator.objects.filter(user=actor, type=Authenticator.Type.TOTP).first()
    if totp is None:
        return
    if not code.strip():
        raise DeletionRefused("Enter the 6-digit code from your authenticator app.")
    if not code.strip().isdigit() or not TOTP(totp).validate_code(code.strip()):
        raise DeletionRefused("That code is not right. Enter the current one from your app.")


def deletion_pending() -> OrganizationDeletion | None:
    """The current organization's scheduled deletion, if any."""
    return OrganizationDeletion.objects.filter(
        organization_id=tenant_current().pk, completed_at=None
    ).first()


@transaction.atomic
def organization_deletion_schedule(
    *, actor: User, confirmation: str, code: str = ""
) -> OrganizationDeletion:
    organization: Organization = tenant_current()
    if confirmation.strip().lower() != organization.slug:
        raise DeletionRefused(
            f"Type the organization's address, “{organization.slug}”, to confirm the deletion."
        )
    _code_check(actor, code)
    if OrganizationDeletion.objects.filter(organization_id=organization.pk).exists():
        raise DeletionRefused("The deletion is scheduled already.")
    due = timezone.now() + timedelta(days=settings.ORGANIZATION_DELETION_GRACE_DAYS)
    deletion = OrganizationDeletion.objects.create(
        organization_id=organization.pk,
        schema_name=organization.schema_name,
        requested_by=actor.email,
        due_at=due,
    )
    Organization.objects.filter(pk=organization.pk).update(deletion_due_at=due)
    organization.deletion_due_at = due
    audit_record(
        actor=actor,
        action=AuditAction.DELETION_SCHEDULED,
        target_label=organization.name,
        details={"due_at": due.isoformat()},
    )
    return deletion


@transaction.atomic
def organization_deletion_cancel(*, actor: User) -> None:
    organization: Organization = tenant_current()
    deletion = (
        OrganizationDeletion.objects.select_for_update()
        .filter(organization_id=organization.pk, completed_at=None)
        .first()
    )
    if deletion is None:
        raise DeletionRefused("No deletion is scheduled.")
    if deletion.started_at is not None:
        raise DeletionRefused("The deletion has begun and can no longer be cancelled.")
    deletion.delete()
    Organization.objects.filter(pk=organization.pk).update(deletion_due_at=None)
    organization.deletion_due_at = None
    audit_record(actor=actor, action=AuditAction.DELETION_CANCELLED, target_label=organization.name)


def _subscription_cancelled(deletion: OrganizationDeletion) -> None:
    deletion.stripe_customer_id = billing_subscription_end(organization_id=deletion.organization_id)


def _storage_tree_delete(storage: Storage, folder: str) -> None:
    folders, files = storage.listdir(folder)
    for name in files:
        storage.delete(f"{folder}/{name}")
    for name in folders:
        _storage_tree_delete(storage, f"{folder}/{name}")


def _files_deleted(deletion: OrganizationDeletion) -> None:
    """Every stored file under the organization's folder: documents, replaced versions,
    export archives (document_upload_path and the export put them there)."""
    if not default_storage.exists(deletion.schema_name):
        return
    _storage_tree_delete(default_storage, deletion.schema_name)
    if isinstance(default_storage, FileSystemStorage):
        # A local disk keeps the emptied folders, which would still name the organization.
        shutil.rmtree(default_storage.path(deletion.schema_name), ignore_errors=True)


def _redis_keys_deleted(deletion: OrganizationDeletion) -> None:
    """Keys naming the schema between colons: the answer cache, Stop flags, rate limits."""
    client = redis_client()
    keys = list(client.scan_iter(match=f"*:{deletion.schema_name}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def _schema_dropped(deletion: OrganizationDeletion) -> None:
    if not SCHEMA_NAME.match(deletion.schema_name):
        raise ValueError(f"refusing to drop schema {deletion.schema_name!r}")
    with connection.cursor() as cursor:
        # A caller's open transaction may hold deferred foreign-key checks on the schema's
        # tables, and DROP refuses tables with pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'DROP SCHEMA IF EXISTS "{deletion.schema_name}" CASCADE')


def _organization_removed(deletion: OrganizationDeletion) -> None:
    """The organization's public rows: billing state (not the ledger), then the row itself,
    whose domains, directory entries and Slack team go with it (cascade)."""
    billing_organization_forget(organization_id=deletion.organization_id)
    # A queryset delete: Organization.delete would try to drop the schema again.
    Organization.objects.filter(pk=deletion.organization_id).delete()


STEP_RUNS = {
    "subscription_cancelled": _subscription_cancelled,
    "files_deleted": _files_deleted,
    "redis_keys_deleted": _redis_keys_deleted,
    "schema_dropped": _schema_dropped,
    "organization_removed": _organization_removed,
}


def organization_deletion_run(*, deletion_id: int, now: datetime | None = None) -> None:
    """Run a due deletion's remaining steps, in order, from the public schema. A step that
    fails is recorded (last_error) and raised, for Celery to retry; the steps before it
    stay done."""
    now = now or timezone.now()
    deletion = OrganizationDeletion.objects.get(pk=deletion_id)
    if deletion.completed_at is not None or deletion.due_at > now:
        return
    deletion.started_at = deletion.started_at or now
    deletion.attempts += 1
    deletion.save(update_fields=["started_at", "attempts"])
    for step in STEPS:
        if step in deletion.steps_done:
            continue
        try:
            # A savepoint: a step's failed statement must not spoil the recording of it.
            with transaction.atomic():
                STEP_RUNS[step](deletion)
        except Exception as error:
            deletion.last_error = f"{step}: {type(error).__name__}: {error}"[:2000]
            deletion.save(update_fields=["last_error"])
            raise
        deletion.steps_done = [*deletion.steps_done, step]
        deletion.save(update_fields=["steps_done", "stripe_customer_id"])
    deletion.completed_at, deletion.last_error, deletion.schema_name = timezone.now(), "", ""
    deletion.save(update_fields=["completed_at", "last_error", "schema_name"])


def organization_deletions_due(*, now: datetime | None = None) -> list[int]:
    return list(
        OrganizationDeletion.objects.filter(
            completed_at=None, due_at__lte=now or timezone.now()
        ).values_list("pk", flat=True)
    )
