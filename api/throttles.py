"""DRF's throttle hook, counting in billing.rate_limits (Redis, limits from the plan), per
API key or per signed-in person. A refusal is DRF's Throttled: 429 with Retry-After."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from api.models import ApiKey
from billing.rate_limits import RateLimited, RateLimitedAction, rate_limit_consume
from tenants.schemas import tenant_current


def rate_subject(request: Request) -> str:
    key = request.auth
    if isinstance(key, ApiKey):
        return f"key:{key.pk}"
    return f"user:{request.user.pk}"


class PlanRateThrottle(BaseThrottle):
    """Throttles the methods a view lists in `rate_limited` ({"POST": "ask"}), per key or
    person."""

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        actions: dict[str, str] = getattr(view, "rate_limited", {})
        action = actions.get(request.method or "")
        if action is None:
            return True
        try:
            rate_limit_consume(
                organization=tenant_current(),
                action=RateLimitedAction(action),
                subject=rate_subject(request),
            )
        except RateLimited as limited:
            self.retry_after = limited.retry_after
            view.rate_limited_reason = str(limited)
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after
