"""The public-schema usage ledger: what each organization's answers and ingestion cost.

The organizations' apps call these as their actions finish (answering, ingestion), inside
the organization's schema; the tables are billing's, in the public schema, so the platform
operator's admin reads every organization from here without entering any schema. Each call
is one upsert that adds to the day's row, so concurrent actions never lose a count.

    ledger_answer_record(organization=org, model=..., input_tokens=..., output_tokens=...,
                         cost_micros=..., cached=False)
    ledger_answer_failed(organization=org)
    ledger_ingestion_record(organization=org, documents=2, chunks=40, tokens=8000)
    ledger_ingestion_failed(organization=org)

Costs are integers in millionths of a US dollar ("micros"): sums stay exact.
"""

import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.models import QuestionUsage, UsageDay
from billing.money import dollars as dollars
from billing.selectors import billing_account_get, period_current
from tenants.models import Organization

logger = logging.getLogger(__name__)

_COUNTERS = frozenset(
    field.name
    for field in UsageDay._meta.get_fields()
    if field.name not in ("id", "organization", "day")
)


def model_price(*, model: str) -> tuple[Decimal, Decimal] | None:
    """Dollars per million (input, output) tokens for `model`, or None when unpriced. A
    versioned name ("gemini-2.5-flash-001") takes the longest listed name it starts with."""
    prices = settings.MODEL_PRICES_PER_MILLION_TOKENS
    names = [name for name in prices if model == name or model.startswith(f"{name}-")]
    if not names:
        return None
    input_price, output_price = prices[max(names, key=len)]
    return Decimal(str(input_price)), Decimal(str(output_price))


def model_cost_micros(*, model: str, input_tokens: int, output_tokens: int) -> int:
    """What the tokens cost at the settings' prices, in micros (rounded half up)."""
    if not input_tokens and not output_tokens:
        return 0
    price = model_price(model=model)
    if price is None:
        logger.warning("no price for model %r in MODEL_PRICES_JSON: its tokens cost 0", model)
        return 0
    # dollars per million tokens x tokens = micros exactly.
    micros = price[0] * input_tokens + price[1] * output_tokens
    return int(micros.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _organization_id(organization: Organization) -> int:
    """The organization's id; a bare schema name in force (django-tenants' FakeTenant, as a
    task or command may set) is looked up."""
    if isinstance(organization, Organization):
        return int(organization.pk)
    return int(
        Organization.objects.values_list("pk", flat=True).get(schema_name=organization.schema_name)
    )


def _day_add(*, organization: Organization, day: date, **counts: int) -> None:
    unknown = set(counts) - _COUNTERS
    if unknown:
        raise ValueError(f"not a ledger counter: {', '.join(sorted(unknown))}")
    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    names = sorted(counts)
    columns = ", ".join(names)
    placeholders = ", ".join(["%s"] * len(names))
    increments = ", ".join(f"{name} = d.{name} + EXCLUDED.{name}" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {UsageDay._meta.db_table} AS d (organization_id, day, {columns})
            VALUES (%s, %s, {placeholders})
            ON CONFLICT (organization_id, day) DO UPDATE SET {increments}
            """,  # noqa: S608  (column names come from the model; values are bound)
            [_organization_id(organization), day, *(counts[name] for name in names)],
        )


@transaction.atomic
def ledger_answer_record(
    *,
    organization: Organization,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cost_micros: int,
    cached: bool,
) -> None:
    """A finished answer: its tokens and cost on today's row, and its cost on the billing
    period's counter that the plan's model-cost cap is checked against."""
    _day_add(
        organization=organization,
        day=timezone.now().date(),
        answers=1,
        answers_cached=int(cached),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        model_cost_micros=cost_micros,
    )
    if cost_micros:
        period = period_current(account=billing_account_get(organization=organization))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {QuestionUsage._meta.db_table} AS u
                    (organization_id, period_start, questions, model_cost_micros)
                VALUES (%s, %s, 0, %s)
                ON CONFLICT (organization_id, period_start)
                DO UPDATE SET model_cost_micros = u.model_cost_micros + EXCLUDED.model_cost_micros
                """,  # noqa: S608
                [_organization_id(organization), period.start, cost_micros],
            )
    logger.debug("ledger: answer with %s (%s micros) for %s", model, cost_micros, organization)


def ledger_answer_failed(*, organization: Organization) -> None:
    _day_add(organization=organization, day=timezone.now().date(), answers_failed=1)


def ledger_ingestion_record(
    *, organization: Organization, documents: int, chunks: int, tokens: int
) -> None:
    """Documents that became ready, with the chunks embedded for them and those chunks'
    tokens. The local embedding model has no per-token price, so ingestion adds no cost."""
    _day_add(
        organization=organization,
        day=timezone.now().date(),
        documents_ingested=documents,
        chunks_embedded=chunks,
        embedding_tokens=tokens,
    )


def ledger_ingestion_failed(*, organization: Organization, documents: int = 1) -> None:
    _day_add(organization=organization, day=timezone.now().date(), ingestions_failed=documents)
