"""Throttles counted in the cache (Redis in production, so every instance shares them):
a fixed window that starts with the first hit and allows `limit` hits in it."""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address. Behind a proxy, uvicorn has already put the visitor's own
    address here, from X-Forwarded-For sent by a trusted proxy only (FORWARDED_ALLOW_IPS)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


@dataclass(frozen=True)
class Throttle:
    name: str
    limit: int
    window_seconds: int

    def _key(self, parts: tuple[str, ...]) -> str:
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        return f"throttle:{self.name}:{digest}"

    def blocked(self, *parts: str) -> bool:
        """Whether the hits counted for `parts` have reached the limit (0 never blocks)."""
        return 0 < self.limit <= int(cache.get(self._key(parts), 0))

    def hit(self, *parts: str) -> None:
        key = self._key(parts)
        cache.add(key, 0, self.window_seconds)
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, self.window_seconds)

    @property
    def window_minutes(self) -> int:
        return max(1, round(self.window_seconds / 60))
