"""Writes to the audit log. Every service that changes access, content or money calls
`audit_record` inside its own transaction, so the event commits or rolls back with the change.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from audit.context import request_address
from audit.models import AuditAction, AuditEvent
from tenants.models import Organization


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target: models.Model | None = None,
    target_label: str = "",
    details: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """One event in the schema in force. `actor` None is the system (Stripe, a task), or
    what `actor_label` names (an identity provider's SCIM client)."""
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the event could be written while the change is not (or the
        # reverse); the callers are atomic by design and this keeps them so.
        raise RuntimeError("audit_record must run inside the transaction of the change")
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor.email if actor is not None else actor_label,
        action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:300],
        details=details or {},
        ip_address=request_address.get(),
    )


def audit_record_in(
    *,
    organization: Organization,
    action: AuditAction,
    target_label: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """An event caused by the system from the public schema (a Stripe webhook), written
    into the organization's schema on the same connection, so in the same transaction."""
    with schema_context(organization.schema_name):
        audit_record(actor=None, action=action, target_label=target_label, details=details)


def audit_prune(*, now: Any = None) -> int:
    """Delete the current schema's events older than AUDIT_RETENTION_DAYS; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def audit_prune_all() -> int:
    """audit_prune in every organization's schema."""
    total = 0
    for organization in Organization.objects.exclude(schema_name=get_public_schema_name()):
        with schema_context(organization.schema_name):
            total += audit_prune()
    return total
