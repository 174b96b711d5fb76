"""Reads for the spend page: what answers cost, by person, by workspace and by day.

From the per-answer ledger kept on each assistant message in the organization's own schema
(tokens, model, cost, whether it came from the cache). An answer that searched several
workspaces is shared among them equally, so the workspaces' figures add up to the total.
Workspaces the reader may not read are not named: their shares make one "Other workspaces"
row.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from assistant.models import Message, MessageRole, MessageStatus
from billing.money import dollars
from workspaces.access import workspace_ids_readable

SPEND_DAYS = 30


@dataclass(frozen=True)
class SpendRow:
    label: str
    answers: int
    cached: int
    input_tokens: int
    output_tokens: int
    cost_micros: int
    detail: str = ""

    @property
    def cost(self) -> str:
        return dollars(self.cost_micros)

    @property
    def answers_display(self) -> str:
        return f"{self.answers:,}"

    @property
    def cached_display(self) -> str:
        return f"{self.cached:,}"

    @property
    def input_display(self) -> str:
        return f"{self.input_tokens:,}"

    @property
    def output_display(self) -> str:
        return f"{self.output_tokens:,}"


@dataclass(frozen=True)
class DayRow(SpendRow):
    day: date | None = None
    height: float = 0.0  # percent of the costliest day, for the bar


@dataclass(frozen=True)
class Spend:
    since: datetime
    total: SpendRow
    people: list[SpendRow]
    workspaces: list[SpendRow]
    days: list[DayRow]
    failed: int


def _answers(since: datetime):  # type: ignore[no-untyped-def]
    return Message.objects.filter(
        role=MessageRole.ASSISTANT, status=MessageStatus.DONE, created_at__gte=since
    )


_SUMS = {
    "answers": Count("id"),
    "cached": Count("id", filter=Q(from_cache=True)),
    "input": Coalesce(Sum("input_tokens"), 0),
    "output": Coalesce(Sum("output_tokens"), 0),
    "cost": Coalesce(Sum("cost_micros"), 0),
}


def _row(label: str, values: dict[str, int], detail: str = "") -> SpendRow:
    return SpendRow(
        label, values["answers"], values["cached"], values["input"], values["output"],
        values["cost"], detail,
    )  # fmt: skip


# Where an answer's share goes when the reader of the page may not read the workspace: one
# row for all of them, so that their names and their separate figures stay unseen.
OTHER_WORKSPACES = "Other workspaces"
OTHER_WORKSPACES_DETAIL = "ones you may not read"


def _by_workspace(since: datetime, readable: list[int]) -> list[SpendRow]:
    """Each answer's figures shared equally among the workspaces it searched: a row for each
    workspace in `readable`, one for deleted workspaces and one for all the others."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT kind, max(name) AS name,
                   count(DISTINCT id) AS answers,
                   count(DISTINCT id) FILTER (WHERE from_cache) AS cached,
                   round(sum(input_share)) AS input,
                   round(sum(output_share)) AS output,
                   round(sum(cost_share)) AS cost
            FROM (
              SELECT m.id, m.from_cache,
                     coalesce(m.input_tokens, 0)::numeric / s.n AS input_share,
                     coalesce(m.output_tokens, 0)::numeric / s.n AS output_share,
                     m.cost_micros::numeric / s.n AS cost_share,
                     CASE WHEN w.id IS NULL THEN 'deleted'
                          WHEN w.id = ANY(%(readable)s) THEN 'readable'
                          ELSE 'other' END AS kind,
                     CASE WHEN w.id = ANY(%(readable)s) THEN w.id END AS shown_id,
                     CASE WHEN w.id = ANY(%(readable)s) THEN w.name END AS name
              FROM {Message._meta.db_table} m
              CROSS JOIN LATERAL (SELECT cardinality(m.searched_workspace_ids) AS n) s
              CROSS JOIN LATERAL unnest(m.searched_workspace_ids) AS searched(id)
              LEFT JOIN workspaces_workspace w ON w.id = searched.id
              WHERE m.role = %(role)s AND m.status = %(status)s AND m.created_at >= %(since)s
            ) shares
            GROUP BY kind, shown_id
            ORDER BY kind = 'other', cost DESC, answers DESC, name
            """,  # noqa: S608  (the table name is ours; values are bound)
            {
                "readable": readable,
                "role": MessageRole.ASSISTANT,
                "status": MessageStatus.DONE,
                "since": since,
            },
        )
        rows = []
        for kind, name, answers, cached, tokens_in, tokens_out, cost in cursor.fetchall():
            label, detail = {
                "readable": (name, ""),
                "deleted": ("A deleted workspace", ""),
                "other": (OTHER_WORKSPACES, OTHER_WORKSPACES_DETAIL),
            }[kind]
            rows.append(
                SpendRow(label, answers, cached, int(tokens_in), int(tokens_out), int(cost), detail)
            )
        return rows


def spend_summary(*, user: User, days: int = SPEND_DAYS) -> Spend:
    """The last `days` days (today included) of the current organization's answers, as
    `user` may see them: the workspaces they may not read are one total, unnamed."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    answers = _answers(since)
    total = _row("All answers", answers.aggregate(**_SUMS))
    people = [
        _row(values["conversation__user__email"], values, values["conversation__user__full_name"])
        for values in answers.values("conversation__user__email", "conversation__user__full_name")
        .annotate(**_SUMS)
        .order_by("-cost", "-answers", "conversation__user__email")
    ]
    per_day = {
        values["day"]: values
        for values in answers.annotate(day=TruncDate("created_at")).values("day").annotate(**_SUMS)
    }
    costliest = max([values["cost"] for values in per_day.values()] + [1])
    zero = {"answers": 0, "cached": 0, "input": 0, "output": 0, "cost": 0}
    day_rows = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        values = per_day.get(day, zero)
        row = _row(day.isoformat(), values)
        day_rows.append(
            DayRow(**row.__dict__, day=day, height=round(100 * values["cost"] / costliest, 1))
        )
    failed = Message.objects.filter(
        role=MessageRole.ASSISTANT, status=MessageStatus.FAILED, created_at__gte=since
    ).count()
    return Spend(
        since=since,
        total=total,
        people=people,
        workspaces=_by_workspace(since, sorted(workspace_ids_readable(user=user))),
        days=day_rows,
        failed=failed,
    )
