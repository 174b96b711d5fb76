"""Retention: how long conversations and answer feedback are kept, and the daily run that
deletes older ones in every organization (Celery beat, lifecycle.tasks)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from assistant.models import Conversation, Feedback
from audit.models import AuditAction
from audit.services import audit_record
from lifecycle.models import RetentionPolicy
from tenants.selectors import organization_list_served

# A number of days that still means something (about 100 years); more is "forever".
RETENTION_DAYS_MAX = 36500


@dataclass(frozen=True)
class RetentionOutcome:
    conversations: int
    feedback: int


def retention_policy_get() -> RetentionPolicy:
    """The organization's policy; unsaved (both kept forever) if none was set."""
    return RetentionPolicy.objects.first() or RetentionPolicy()


@transaction.atomic
def retention_policy_set(
    *, actor: User, conversation_days: int | None, feedback_days: int | None
) -> RetentionPolicy:
    policy = RetentionPolicy.objects.select_for_update().first() or RetentionPolicy()
    before = {"conversation_days": policy.conversation_days, "feedback_days": policy.feedback_days}
    policy.conversation_days, policy.feedback_days = conversation_days, feedback_days
    policy.save()
    audit_record(
        actor=actor,
        action=AuditAction.RETENTION_CHANGED,
        target_label="Retention",
        details={
            "before": before,
            "after": {"conversation_days": conversation_days, "feedback_days": feedback_days},
        },
    )
    return policy


@transaction.atomic
def retention_apply(*, now: datetime | None = None) -> RetentionOutcome:
    """Delete, in the schema in force, conversations and feedback unchanged for longer than
    the policy keeps them. A conversation's age is its last activity (a new question keeps
    it), so a thread still in use is never cut in the middle."""
    now = now or timezone.now()
    policy = RetentionPolicy.objects.select_for_update().first()
    if policy is None:
        return RetentionOutcome(conversations=0, feedback=0)
    conversations = feedback = 0
    if policy.feedback_days is not None:
        cutoff = now - timedelta(days=policy.feedback_days)
        feedback, _ = Feedback.objects.filter(updated_at__lt=cutoff).delete()
    if policy.conversation_days is not None:
        cutoff = now - timedelta(days=policy.conversation_days)
        old = Conversation.objects.filter(updated_at__lt=cutoff)
        # Their feedback goes with their messages (cascade): counted as feedback too.
        feedback += Feedback.objects.filter(message__conversation__in=old).count()
        conversations = old.count()
        old.delete()
    policy.last_run_at = now
    policy.last_run_conversations, policy.last_run_feedback = conversations, feedback
    policy.save(update_fields=["last_run_at", "last_run_conversations", "last_run_feedback"])
    if conversations or feedback:
        audit_record(
            actor=None,
            action=AuditAction.RETENTION_APPLIED,
            target_label="Retention",
            details={"conversations": conversations, "feedback": feedback},
        )
    return RetentionOutcome(conversations=conversations, feedback=feedback)


def retention_apply_all(*, now: datetime | None = None) -> RetentionOutcome:
    """retention_apply in every organization's schema (the template's and the public's
    aside)."""
    conversations = feedback = 0
    for organization in organization_list_served():
        with schema_context(organization.schema_name):
            outcome = retention_apply(now=now)
        conversations += outcome.conversations
        feedback += outcome.feedback
    return RetentionOutcome(conversations=conversations, feedback=feedback)


def retention_next_run(*, now: datetime | None = None) -> datetime:
    """When Celery beat next runs retention: daily at RETENTION_RUN_HOUR:00 UTC
    (CELERY_BEAT_SCHEDULE's crontab)."""
    now = (now or timezone.now()).astimezone(UTC)
    today = now.replace(hour=settings.RETENTION_RUN_HOUR, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)
