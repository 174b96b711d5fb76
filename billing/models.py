"""Plans, each organization's subscription state, Stripe events and usage counters.

All of it lives in the public schema (billing is a shared app): the webhook arrives on the
public site before any organization is known, and the platform operator edits plans there.
"""

from django.db import models
from django.template.defaultfilters import filesizeformat

from tenants.models import Organization


class Plan(models.Model):
    """A price with its caps. Edited by the platform operator in the Django admin."""

    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=30, unique=True)
    stripe_price_id = models.CharField(
        max_length=100, blank=True, help_text="Empty for the free plan (no card, no checkout)."
    )
    monthly_price_cents = models.PositiveIntegerField(default=0, help_text="Shown on the page.")
    questions_per_period = models.PositiveIntegerField()
    max_documents = models.PositiveIntegerField()
    max_storage_bytes = models.PositiveBigIntegerField()
    max_members = models.PositiveIntegerField()
    max_workspaces = models.PositiveIntegerField()
    max_model_cost_cents = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Model spend allowed per billing period, in US cents; empty for no cap.",
    )
    # Rate limits (billing.rate_limits), per API key and per person, counted in Redis: a
    # burst of questions or uploads waits (429, Retry-After) instead of queueing up work.
    asks_per_minute = models.PositiveIntegerField(
        default=20, help_text="Questions one person or API key may ask per minute."
    )
    ingests_per_minute = models.PositiveIntegerField(
        default=30, help_text="Uploads and replacements one API key or person may send per minute."
    )
    # Sources that sync into the organization's workspaces (connectors/), and how often a
    # source's schedule may run them at most; "Sync now" is never held to the interval.
    max_sources = models.PositiveIntegerField(
        default=20, help_text="Sources (Drive, websites, ...) the organization may connect."
    )
    min_sync_interval_minutes = models.PositiveIntegerField(
        default=60, help_text="The shortest schedule a source may sync on, in minutes."
    )
    is_public = models.BooleanField(default=True, help_text="Offered on the billing page.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "monthly_price_cents"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return not self.stripe_price_id

    @property
    def price_display(self) -> str:
        # "$0", not "Free": the free plan's card is already headed by its name.
        return f"${self.monthly_price_cents / 100:,.0f} / month"

    @property
    def allowances(self) -> list[str]:
        """What the plan includes, one line each, as the billing page and the public page
        show it."""
        return [
            f"{self.questions_per_period:,} questions per month",
            f"{self.max_documents:,} documents, {filesizeformat(self.max_storage_bytes)}",
            f"{self.max_members:,} members, {self.max_workspaces:,} workspaces",
            f"{self.max_sources:,} sources, {sync_interval_words(self.min_sync_interval_minutes)}",
        ]


def sync_interval_words(minutes: int) -> str:
    """ "synced at most hourly": a plan's shortest sync schedule, in words."""
    if minutes <= 0:
        return "synced as often as wanted"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "synced at most daily" if days == 1 else f"synced at most every {days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "synced at most hourly" if hours == 1 else f"synced at most every {hours} hours"
    return f"synced at most every {minutes} minutes"


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses; NONE for an organization that never subscribed."""

    NONE = "", "No subscription"
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"


class BillingAccount(models.Model):
    """An organization's plan and the subscription state Stripe's webhooks told us."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="billing_account"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    stripe_customer_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.NONE,
        blank=True,
    )  # fmt: skip
    cancel_at_period_end = models.BooleanField(default=False)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    # The `created` time of the newest event applied; older events are ignored (out of order).
    last_event_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    last_checkout_session_id = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.organization} on {self.plan}"


class StripeEvent(models.Model):
    """Every webhook event received, once: a replay finds its id here and is ignored."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    received_at = models.DateTimeField(auto_now_add=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class QuestionUsage(models.Model):
    """Questions asked in one billing period; counted by a single conditional upsert."""

    # A ledger row invoices are reconciled against: it outlives a deleted organization
    # (lifecycle.deletion), so no database constraint, and nothing is done to it then.
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    period_start = models.DateTimeField()
    questions = models.PositiveIntegerField(default=0)
    # Model spend of the period in millionths of a US dollar (the plan's cost cap).
    model_cost_micros = models.PositiveBigIntegerField(default=0, db_default=0)
    warned_80_at = models.DateTimeField(null=True, blank=True)
    warned_100_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start"], name="one_question_counter_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.questions} questions from {self.period_start:%Y-%m-%d}"


class DailyQuestions(models.Model):
    """Questions per day of a billing period, for the billing page's chart. Kept per period
    (the question counter's), so that a day a plan changed on shows, for each period, what
    its meter counted; rows from before the period was recorded have none."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateTimeField(null=True, blank=True)
    day = models.DateField()
    questions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "day"],
                name="one_daily_count_per_period_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.questions} questions on {self.day}"


class UsageDay(models.Model):
    """One organization's day in the public ledger: written by the actions themselves
    (answers, ingestion) as they finish, so the platform operator reads every organization's
    activity here without querying any organization's schema. Questions asked are in
    DailyQuestions (counted when asked, against the cap)."""

    # A ledger row invoices are reconciled against: it outlives a deleted organization
    # (lifecycle.deletion), so no database constraint, and nothing is done to it then.
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.DateField()
    answers = models.PositiveIntegerField(db_default=0, help_text="Answers finished.")
    answers_cached = models.PositiveIntegerField(
        db_default=0, help_text="Answers given from the cache of recent identical questions."
    )
    answers_failed = models.PositiveIntegerField(db_default=0)
    input_tokens = models.PositiveBigIntegerField(db_default=0)
    output_tokens = models.PositiveBigIntegerField(db_default=0)
    model_cost_micros = models.PositiveBigIntegerField(
        db_default=0, help_text="Millionths of a US dollar."
    )
    documents_ingested = models.PositiveIntegerField(db_default=0)
    ingestions_failed = models.PositiveIntegerField(db_default=0)
    chunks_embedded = models.PositiveIntegerField(db_default=0)
    embedding_tokens = models.PositiveBigIntegerField(db_default=0)

    class Meta:
        ordering = ["-day", "organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="one_usage_row_per_day")
        ]
        verbose_name = "usage day"

    def __str__(self) -> str:
        return f"{self.organization_id} on {self.day}"
