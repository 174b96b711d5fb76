"""Per-minute rate limits on asking and ingesting, per API key and per person, from the plan.

Counted in Redis (REDIS_URL, the Celery broker's server; Memorystore in production), not in
the Django cache, which is per process outside production: every web instance must see the
same count. A fixed window of a minute per subject.
"""

import math
import time
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
    """Count one `action` by `subject` ("key:12", "user:34") in this minute, or raise
    RateLimited (counting it anyway: hammering does not shorten the wait)."""
    limit = _limit(plan_effective(account=billing_account_get(organization=organization)), action)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"{settings.RATE_LIMIT_KEY_PREFIX}:{organization.schema_name}:{action}:{subject}:{window}"
    # SET NX with a lifetime, then INCR: the counter expires after its window (EXPIRE's NX
    # option would say it in one step, but needs Redis 7).
    pipeline = redis_client().pipeline()
    pipeline.set(key, 0, ex=WINDOW_SECONDS * 2, nx=True)
    pipeline.incr(key)
    _, count = pipeline.execute()
    if int(count) > limit:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(action=action, limit=limit, retry_after=retry_after)


def rate_limits_reset() -> None:
    """Forget every count under this installation's prefix (tests start from none)."""
    client = redis_client()
    for key in client.scan_iter(match=f"{settings.RATE_LIMIT_KEY_PREFIX}:*", count=500):
        client.delete(key)
