"""The one Redis client for state every web instance must share (rate-limit counters, the
answer cache): REDIS_URL, the Celery broker's server (Memorystore in production), not the
Django cache, which is per process outside production."""

import redis
from django.conf import settings

_clients: dict[str, "redis.Redis[bytes]"] = {}


def redis_client() -> "redis.Redis[bytes]":
    # kombu (Celery) spells a unix socket redis+socket://, redis-py unix://. Short timeouts:
    # a Redis that hangs must not hold a request (callers treat its errors as they need).
    url = str(settings.REDIS_URL).replace("redis+socket://", "unix://", 1)
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[url]
