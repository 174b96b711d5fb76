"""Per-minute rate limits on asking and ingesting, per API key and per person, from the plan.

Counted in Redis (REDIS_URL, the Celery broker's server; Memorystore in production), not in
the Django cache, which is per process outside production: every web instance must see the
same count. A sliding minute per subject: each allowed action is a member of a sorted set
scored by its time, so "N a minute" holds over any 60 seconds. A fixed window per clock
minute let 2N through in the second either side of a minute's turn.
"""

import math
import time
import uuid
from enum import StrEnum

from django.conf import settings

from billing.models import Plan
from billing.redis_connection import redis_client
from billing.selectors import billing_account_get, plan_effective
from tenants.models import Organization

WINDOW_SECONDS = 60


class RateLimitedAction(StrEnum):
    ASK = "ask"
    INGEST = "ingest"


ACTION_NOUNS = {RateLimitedAction.ASK: "questions", RateLimitedAction.INGEST: "uploads"}


class RateLimited(Exception):
    """Too many of one action in the window; `retry_after` seconds until the next one is
    allowed."""

    def __init__(self, *, action: RateLimitedAction, limit: int, retry_after: int) -> None:
        self.action, self.limit, self.retry_after = action, limit, retry_after
        super().__init__(
            f"You have sent {limit} {ACTION_NOUNS[action]} this minute, the limit of your "
            f"organization's plan. Try again in {retry_after} seconds."
        )


def _limit(plan: Plan, action: RateLimitedAction) -> int:
    if action == RateLimitedAction.ASK:
        return plan.asks_per_minute
    return plan.ingests_per_minute


def rate_limit_consume(
    *, organization: Organization, action: RateLimitedAction, subject: str
) -> None:
    """Count one `action` by `subject` ("key:12", "user:34") in the last minute, or raise
    RateLimited with the seconds until the oldest counted one leaves the minute. A refused
    action is not counted: waiting as told is always enough."""
    limit = _limit(plan_effective(account=billing_account_get(organization=organization)), action)
    now = time.time()
    key = f"{settings.RATE_LIMIT_KEY_PREFIX}:{organization.schema_name}:{action}:{subject}"
    member = uuid.uuid4().hex
    client = redis_client()
    # One transaction: forget what left the minute, count this one, read how many there are.
    # Two at once past the limit both see the other and both are refused (removed below):
    # never more than the limit.
    pipeline = client.pipeline()
    pipeline.zremrangebyscore(key, "-inf", now - WINDOW_SECONDS)
    pipeline.zadd(key, {member: now})
    pipeline.zcard(key)
    pipeline.expire(key, WINDOW_SECONDS)
    _, _, count, _ = pipeline.execute()
    if int(count) > limit:
        client.zrem(key, member)
        # One more fits once all but `limit - 1` of the others have left the minute.
        leaving = client.zrange(
            key, int(count) - 1 - limit, int(count) - 1 - limit, withscores=True
        )
        oldest = leaving[0][1] if leaving else now
        retry_after = max(1, math.ceil(oldest + WINDOW_SECONDS - now))
        raise RateLimited(action=action, limit=limit, retry_after=retry_after)


def rate_limits_reset() -> None:
    """Forget every count under this installation's prefix (tests start from none)."""
    client = redis_client()
    for key in client.scan_iter(match=f"{settings.RATE_LIMIT_KEY_PREFIX}:*", count=500):
        client.delete(key)
