from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent


def audit_events(
    *,
    actor: User | None = None,
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """Events of the current organization, newest first; `until` is inclusive."""
    events = AuditEvent.objects.all()
    if actor is not None:
        events = events.filter(actor=actor)
    if action:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(created_at__gte=_day_start(since))
    # The calendar's last day has no next day to stop before; ending on it means no end.
    if until is not None and until < date.max:
        events = events.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    return events


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_actors() -> QuerySet[User]:
    """Everyone the filter offers: current and former members (removed ones keep their row)."""
    return User.objects.order_by("email")
