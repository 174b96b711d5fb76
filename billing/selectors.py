"""Reads: plans, an organization's effective plan and period, its usage, its invoices."""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing import stripe_gateway
from billing.models import (
    BillingAccount,
    DailyQuestions,
    Plan,
    QuestionUsage,
    SubscriptionStatus,
    UsageDay,
)
from billing.money import MICROS_PER_CENT, dollars
from billing.usage import usage_count
from tenants.models import Organization

FREE_PLAN_SLUG = "free"
# Statuses in which Stripe is being paid (or the operator assigned the plan by hand).
PAID_UP = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.NONE)


def plan_free() -> Plan:
    return Plan.objects.get(slug=FREE_PLAN_SLUG)


def plan_list_public() -> list[Plan]:
    return list(Plan.objects.filter(is_public=True))


def plan_get_for_checkout(*, slug: str) -> Plan | None:
    return Plan.objects.filter(slug=slug, is_public=True).exclude(stripe_price_id="").first()


def billing_account_get(*, organization: Organization) -> BillingAccount:
    """The organization's billing account, created with it at signup."""
    return BillingAccount.objects.select_related("plan").get(organization=organization)


def past_due_grace_ends(*, account: BillingAccount) -> datetime | None:
    if account.status != SubscriptionStatus.PAST_DUE or account.past_due_since is None:
        return None
    return account.past_due_since + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)


def plan_effective(*, account: BillingAccount, now: datetime | None = None) -> Plan:
    """The plan whose caps apply now: the subscribed plan while it is paid for (or within
    the grace period after a failed payment), otherwise Free."""
    now = now or timezone.now()
    if account.plan.is_free or account.status in PAID_UP:
        return account.plan
    grace_ends = past_due_grace_ends(account=account)
    if grace_ends is not None and now < grace_ends:
        return account.plan
    return plan_free()


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def days(self) -> list[date]:
        last = (self.end - timedelta(microseconds=1)).date()
        count = (last - self.start.date()).days + 1
        return [self.start.date() + timedelta(days=n) for n in range(max(count, 0))]


def period_current(*, account: BillingAccount, now: datetime | None = None) -> Period:
    """Stripe's current period for a paid subscription; calendar months (UTC) otherwise,
    and also when the stored period has run out before the renewal's webhook arrived."""
    now = now or timezone.now()
    start, end = account.current_period_start, account.current_period_end
    if start and end and start <= now < end and not plan_effective(account=account).is_free:
        return Period(start=start, end=end)
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    days = calendar.monthrange(now.year, now.month)[1]
    return Period(start=month_start, end=month_start + timedelta(days=days))


def questions_used(*, organization: Organization, period: Period) -> int:
    usage = QuestionUsage.objects.filter(
        organization=organization, period_start=period.start
    ).first()
    return usage.questions if usage else 0


def questions_per_day(*, organization: Organization, period: Period) -> list[tuple[date, int]]:
    # This period's counts (and those kept before counts named their period).
    counts = dict(
        DailyQuestions.objects.filter(
            Q(period_start=period.start) | Q(period_start__isnull=True),
            organization=organization,
            day__gte=period.start.date(),
            day__lt=period.end.date() + timedelta(days=1),
        )
        .values("day")
        .annotate(total=Sum("questions"))
        .values_list("day", "total")
    )
    return [(day, counts.get(day, 0)) for day in period.days()]


def model_cost_used(*, organization: Organization, period: Period) -> int:
    """The period's model spend in micros (billing.ledger adds each answer's cost)."""
    usage = QuestionUsage.objects.filter(
        organization=organization, period_start=period.start
    ).first()
    return usage.model_cost_micros if usage else 0


def tenant_usage(*, organization: Organization, meter: str) -> int:
    """What the organization holds now, counted in its own schema by the app that holds it
    (billing.usage)."""
    with tenant_context(organization):
        return usage_count(meter=meter)


@dataclass(frozen=True)
class MeterReading:
    meter: str
    label: str
    used: int
    limit: int
    is_bytes: bool = False
    is_money: bool = False  # micros of a US dollar

    @property
    def figures(self) -> str:
        """ "12 / 1,000", "2.0 MB / 1.0 GB" or "$1.20 / $5.00"."""
        if self.is_bytes:
            return f"{filesizeformat(self.used)} / {filesizeformat(self.limit)}"
        if self.is_money:
            return f"{dollars(self.used)} / {dollars(self.limit)}"
        return f"{self.used:,} / {self.limit:,}"

    @property
    def percent(self) -> int:
        if self.limit <= 0:
            return 100
        return min(100, round(100 * self.used / self.limit))

    @property
    def level(self) -> str:
        """ok, warning (80 % or more) or full (100 % or more): the bar's colour."""
        if self.used >= self.limit:
            return "full"
        return "warning" if self.used >= 0.8 * self.limit else "ok"


def meter_readings(*, organization: Organization, plan: Plan, period: Period) -> list[MeterReading]:
    def held(meter: str) -> int:
        return tenant_usage(organization=organization, meter=meter)

    questions = questions_used(organization=organization, period=period)
    readings = [
        MeterReading("questions", "Questions this period", questions, plan.questions_per_period),
        MeterReading("documents", "Documents", held("documents"), plan.max_documents),
        MeterReading("storage", "Storage", held("storage"), plan.max_storage_bytes, True),
        MeterReading("members", "Members", held("members"), plan.max_members),
        MeterReading("workspaces", "Workspaces", held("workspaces"), plan.max_workspaces),
        MeterReading("sources", "Synced sources", held("sources"), plan.max_sources),
    ]  # fmt: skip
    if plan.max_model_cost_cents is not None:
        readings.insert(1, MeterReading(
            "model_cost", "Model spend this period",
            model_cost_used(organization=organization, period=period),
            plan.max_model_cost_cents * MICROS_PER_CENT, is_money=True,
        ))  # fmt: skip
    return readings


def invoice_list(*, account: BillingAccount) -> list[stripe_gateway.Invoice]:
    """The customer's invoices from Stripe (raises GatewayError when it cannot be reached)."""
    if not account.stripe_customer_id:
        return []
    return stripe_gateway.invoice_list(customer_id=account.stripe_customer_id)


def checkout_confirmed(*, organization: Organization, session_id: str) -> bool:
    """Has the webhook for this Checkout session arrived and been applied?"""
    account = billing_account_get(organization=organization)
    return bool(session_id) and account.last_checkout_session_id == session_id


@dataclass(frozen=True)
class ChartBar:
    day: date
    questions: int
    height: float  # percent of the tallest bar
    is_future: bool


@dataclass(frozen=True)
class BillingOverview:
    account: BillingAccount
    plan: Plan
    period: Period
    meters: list[MeterReading]
    chart: list[ChartBar]
    busiest_day: int
    plans: list[Plan]
    invoices: list[stripe_gateway.Invoice]
    invoices_unavailable: bool
    past_due_until: datetime | None

    @property
    def is_downgraded(self) -> bool:
        """Past due beyond the grace period: the Free plan's caps apply."""
        return self.plan.pk != self.account.plan.pk


def billing_overview(*, organization: Organization) -> BillingOverview:
    account = billing_account_get(organization=organization)
    plan = plan_effective(account=account)
    period = period_current(account=account)
    days = questions_per_day(organization=organization, period=period)
    today = timezone.now().date()
    tallest = max([n for _, n in days] + [1])
    try:
        invoices, unavailable = invoice_list(account=account), False
    except stripe_gateway.GatewayError:
        invoices, unavailable = [], True
    return BillingOverview(
        account=account,
        plan=plan,
        period=period,
        meters=meter_readings(organization=organization, plan=plan, period=period),
        chart=[ChartBar(day, n, round(100 * n / tallest, 1), day > today) for day, n in days],
        busiest_day=tallest if any(n for _, n in days) else 0,
        plans=plan_list_public(),
        invoices=invoices,
        invoices_unavailable=unavailable,
        past_due_until=past_due_grace_ends(account=account),
    )


@dataclass(frozen=True)
class OrganizationActivity:
    """One organization's last days, from the public ledger (no organization's schema is
    read): what the platform operator's admin lists."""

    organization: Organization
    questions: int
    answers: int
    answers_cached: int
    answers_failed: int
    model_cost_micros: int
    documents_ingested: int
    ingestions_failed: int
    chunks_embedded: int

    @property
    def model_cost(self) -> str:
        return dollars(self.model_cost_micros)


def organizations_activity(*, days: int) -> list[OrganizationActivity]:
    """Every organization over the last `days` days (today included), costliest first."""
    since = timezone.now().date() - timedelta(days=days - 1)
    sums = {
        row["organization_id"]: row
        for row in UsageDay.objects.filter(day__gte=since)
        .values("organization_id")
        .annotate(
            answers_sum=Sum("answers"), cached_sum=Sum("answers_cached"),
            failed_sum=Sum("answers_failed"), cost_sum=Sum("model_cost_micros"),
            documents_sum=Sum("documents_ingested"), ingestions_failed_sum=Sum("ingestions_failed"),
            chunks_sum=Sum("chunks_embedded"),
        )
    }  # fmt: skip
    questions = dict(
        DailyQuestions.objects.filter(day__gte=since)
        .values("organization_id")
        .annotate(total=Sum("questions"))
        .values_list("organization_id", "total")
    )
    rows = []
    for organization in Organization.objects.exclude(schema_name="public").exclude(
        is_template=True
    ):
        row = sums.get(organization.pk, {})
        rows.append(
            OrganizationActivity(
                organization=organization,
                questions=questions.get(organization.pk) or 0,
                answers=row.get("answers_sum") or 0,
                answers_cached=row.get("cached_sum") or 0,
                answers_failed=row.get("failed_sum") or 0,
                model_cost_micros=row.get("cost_sum") or 0,
                documents_ingested=row.get("documents_sum") or 0,
                ingestions_failed=row.get("ingestions_failed_sum") or 0,
                chunks_embedded=row.get("chunks_sum") or 0,
            )
        )
    return sorted(rows, key=lambda r: (-r.model_cost_micros, -r.questions, r.organization.name))
