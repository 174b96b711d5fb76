"""What the rest of the product calls before it adds something that a plan caps.

    cap_question_consume(organization=org)        # counts one question, or raises CapReached
    cap_question_return(organization=org, asked_at=t)  # an answer that found nothing
    cap_ensure(organization=org, meter="documents", adding=1, adding_bytes=size)

Questions are a counter per organization and billing period, moved by one conditional
upsert, so concurrent askers can never push it past the cap. Documents, storage, members
and workspaces are counted from the organization's own tables at check time, under a
transaction-scoped advisory lock per organization and meter that the caller's transaction
holds until it commits its insert: two concurrent uploads cannot both see the last free slot.
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import DailyQuestions, QuestionUsage, sync_interval_words
from billing.money import MICROS_PER_CENT, dollars
from billing.selectors import (
    Period,
    billing_account_get,
    period_current,
    plan_effective,
    tenant_usage,
)
from tenants.models import Organization

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

METER_NOUNS = {
    "questions": "questions this billing period",
    "documents": "documents",
    "storage": "storage",
    "members": "members",
    "workspaces": "workspaces",
    "sources": "connected sources",
    "model_cost": "model spend this billing period",
}
# The advisory lock's second key; the first is the organization's id.
METER_LOCK_KEYS = {"documents": 1, "storage": 1, "members": 2, "workspaces": 3, "sources": 4}


class CapReached(Exception):
    """An action refused because the organization's plan does not allow more."""

    def __init__(self, *, meter: str, used: int, limit: int, plan_name: str) -> None:
        self.meter, self.used, self.limit, self.plan_name = meter, used, limit, plan_name
        super().__init__(f"{meter} cap reached: {used} of {limit} on {plan_name}")

    def _amount(self, value: int) -> str:
        if self.meter == "model_cost":
            return dollars(value)  # micros
        return filesizeformat(value) if self.meter == "storage" else f"{value:,}"

    @property
    def summary(self) -> str:
        noun = METER_NOUNS[self.meter]
        return (
            f"Your organization has reached its {self.plan_name} plan's limit of "
            f"{self._amount(self.limit)} {noun} ({self._amount(self.used)} used)."
        ).replace(f"{self._amount(self.limit)} storage", f"{self._amount(self.limit)} of storage")

    def can_upgrade(self, user: "User") -> bool:
        return user.can_manage_billing

    def message_for(self, user: "User") -> str:
        if self.can_upgrade(user):
            return f"{self.summary} Upgrade the plan to add more."
        if user.can_manage_members:
            return f"{self.summary} Ask an owner or billing admin to upgrade the plan."
        return f"{self.summary} Ask your admin to upgrade the plan."

    def upgrade_url_for(self, user: "User") -> str | None:
        return reverse("billing:overview") if self.can_upgrade(user) else None

    def for_user(self, user: "User") -> "CapNotice":
        """What templates/billing/cap_reached.html#cap-reached shows to this person."""
        return CapNotice(
            meter=self.meter, message=self.message_for(user), upgrade_url=self.upgrade_url_for(user)
        )


@dataclass(frozen=True)
class CapNotice:
    meter: str
    message: str
    upgrade_url: str | None


def cap_ensure(
    *, organization: Organization, meter: str, adding: int = 1, adding_bytes: int = 0
) -> None:
    """Raise CapReached if adding `adding` items (or `adding_bytes` of storage) would take
    the organization past its plan. Call it inside the transaction that adds them, before
    the expensive work; usage already over a lowered cap is kept, but nothing new is added."""
    if not connection.in_atomic_block:
        raise RuntimeError("cap_ensure must run inside the transaction that adds the item")
    account = billing_account_get(organization=organization)
    plan = plan_effective(account=account)
    meters = {"documents": adding, "storage": adding_bytes} if meter == "documents" else {
        meter: adding
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [organization.pk, METER_LOCK_KEYS[meter]]
        )
    for name, amount in meters.items():
        if amount <= 0:
            continue
        limit = {
            "documents": plan.max_documents,
            "storage": plan.max_storage_bytes,
            "members": plan.max_members,
            "workspaces": plan.max_workspaces,
            "sources": plan.max_sources,
        }[name]
        used = tenant_usage(organization=organization, meter=name)
        if used + amount > limit:
            raise CapReached(meter=name, used=used, limit=limit, plan_name=plan.name)


def sync_interval_least(*, organization: Organization) -> int:
    """The shortest schedule, in minutes, the organization's plan lets a source sync on
    (0: any). A source set faster before a downgrade is synced no faster than this."""
    plan = plan_effective(account=billing_account_get(organization=organization))
    return plan.min_sync_interval_minutes


def sync_interval_refusal(*, organization: Organization, minutes: int) -> str:
    """Why a source may not sync every `minutes` minutes on the organization's plan, as a
    sentence; "" when it may. 0 (only when asked) is always allowed."""
    plan = plan_effective(account=billing_account_get(organization=organization))
    least = plan.min_sync_interval_minutes
    if minutes == 0 or minutes >= least:
        return ""
    return (
        f"Your organization's {plan.name} plan keeps sources {sync_interval_words(least)}: "
        "choose a less frequent schedule (or “Only when I ask”), or upgrade the plan."
    )


def cap_question_consume(*, organization: Organization) -> None:
    """Count one question against the period's cap, or raise CapReached without counting;
    also refused once the period's model spend has reached the plan's cost cap.

    Call it before retrieval and the model: a refused question costs nothing. An answer's
    cost is known only when it ends (billing.ledger adds it to the same row), so answers
    already under way when the cap is reached may take the spend past it by their own cost;
    every question asked after that is refused."""
    account = billing_account_get(organization=organization)
    plan = plan_effective(account=account)
    period = period_current(account=account)
    limit = plan.questions_per_period
    refused = CapReached(
        meter="questions", used=limit, limit=limit, plan_name=plan.name
    )  # fmt: skip
    cost_limit = (
        None if plan.max_model_cost_cents is None
        else plan.max_model_cost_cents * MICROS_PER_CENT
    )  # fmt: skip
    if limit <= 0:
        raise refused
    if cost_limit == 0:
        raise CapReached(meter="model_cost", used=0, limit=0, plan_name=plan.name)
    with transaction.atomic(), connection.cursor() as cursor:
        # One statement: of concurrent askers at the last free question, the row lock taken
        # by ON CONFLICT lets them through one by one and the WHERE refuses all but one.
        cursor.execute(
            f"""
            INSERT INTO {QuestionUsage._meta.db_table} AS u
                (organization_id, period_start, questions, model_cost_micros)
            VALUES (%s, %s, 1, 0)
            ON CONFLICT (organization_id, period_start)
            DO UPDATE SET questions = u.questions + 1
            WHERE u.questions < %s AND (%s::bigint IS NULL OR u.model_cost_micros < %s)
            RETURNING u.questions
            """,  # noqa: S608  (the table name is ours; values are bound)
            [organization.pk, period.start, limit, cost_limit, cost_limit],
        )
        row = cursor.fetchone()
        if row is None:
            usage = QuestionUsage.objects.get(organization=organization, period_start=period.start)
            if cost_limit is not None and usage.model_cost_micros >= cost_limit:
                raise CapReached(
                    meter="model_cost", used=usage.model_cost_micros, limit=cost_limit,
                    plan_name=plan.name,
                )  # fmt: skip
            refused.used = usage.questions
            raise refused
        cursor.execute(
            f"""
            INSERT INTO {DailyQuestions._meta.db_table} AS d
                (organization_id, period_start, day, questions)
            VALUES (%s, %s, %s, 1)
            ON CONFLICT (organization_id, period_start, day)
            DO UPDATE SET questions = d.questions + 1
            """,  # noqa: S608
            [organization.pk, period.start, timezone.now().date()],
        )
        _warn_owners_if_due(organization=organization, period=period, used=row[0], limit=limit)


def cap_question_return(*, organization: Organization, asked_at: datetime) -> None:
    """Give back a question counted at `asked_at`: its answer found nothing, and a refusal
    does not cost the organization a question. Never below zero; a question asked in a
    period that has ended since stays counted there (that period's bill is closed)."""
    account = billing_account_get(organization=organization)
    period = period_current(account=account)
    with transaction.atomic():
        days = DailyQuestions.objects.filter(
            organization=organization, day=asked_at.date(), questions__gt=0
        )
        if period.start <= asked_at:
            QuestionUsage.objects.filter(
                organization=organization, period_start=period.start, questions__gt=0
            ).update(questions=F("questions") - 1)
            days = days.filter(period_start=period.start)
        else:
            days = days.exclude(period_start=period.start)
        # One row: the day's count of the period the question was counted in.
        day = days.order_by("-period_start").first()
        if day is not None:
            DailyQuestions.objects.filter(pk=day.pk, questions__gt=0).update(
                questions=F("questions") - 1
            )


def _warn_owners_if_due(
    *, organization: Organization, period: Period, used: int, limit: int
) -> None:
    """Email the owners once per period at 80 % and once at 100 % of the question cap."""
    if used >= limit:
        field, percent = "warned_100_at", 100
    elif used >= math.ceil(0.8 * limit):
        field, percent = "warned_80_at", 80
    else:
        return
    # Only the request that flips the flag sends the email.
    claimed = QuestionUsage.objects.filter(
        organization=organization, period_start=period.start, **{f"{field}__isnull": True}
    ).update(**{field: timezone.now()})
    if claimed:
        transaction.on_commit(
            lambda: question_cap_warning_send(
                organization=organization, percent=percent, used=used, limit=limit
            )
        )


def question_cap_warning_send(
    *, organization: Organization, percent: int, used: int, limit: int
) -> None:
    from accounts.models import Role, User

    with tenant_context(organization):
        owners = list(
            User.objects.filter(role=Role.OWNER, is_active=True).values_list("email", flat=True)
        )
    # No request here to take the scheme and port from: the host and path say where to go.
    billing_url = f"{organization.slug}.{settings.BASE_DOMAIN}{reverse('billing:overview')}"
    if percent >= 100:
        subject = f"{organization.name} has used all {limit} questions of this billing period"
        body = (
            f"Your organization has asked {used} of the {limit} questions its plan includes "
            f"this period. New questions are refused until the period renews or you upgrade:\n"
            f"{billing_url}\n"
        )
    else:
        subject = f"{organization.name} has used {percent} % of its questions"
        body = (
            f"Your organization has asked {used} of the {limit} questions its plan includes "
            f"this period. To avoid interruptions, consider upgrading:\n{billing_url}\n"
        )
    if owners:
        send_mail(subject, body, None, owners)
    logger.info("question cap warning (%s %%) sent for %s", percent, organization.slug)
