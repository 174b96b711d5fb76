"""Production (Cloud Run): secrets from the environment (Secret Manager), HTTPS only."""

from saas.observability import logging_config

from .base import *  # noqa: F403
from .base import LOG_LEVEL, env

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# A year, every organization's subdomain included, and eligible for browsers' preload lists.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# Sign-in and signup throttles count in the cache: on Redis they hold across every instance
# of the web service, not per process (Memorystore in production; CACHE_URL may name another
# database of it than the Celery broker's).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # kombu spells a unix socket redis+socket://, redis-py unix://
        "LOCATION": env.str(
            "CACHE_URL",
            default=REDIS_URL.replace("redis+socket://", "unix://", 1),  # noqa: F405
        ),
    }
}

if env.str("GS_BUCKET_NAME", default=""):
    STORAGES["default"] = {  # noqa: F405
        "BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
        "OPTIONS": {"bucket_name": env.str("GS_BUCKET_NAME"), "file_overwrite": False},
    }

# One JSON object a line (Cloud Logging's structured logs) unless LOG_FORMAT says otherwise.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
