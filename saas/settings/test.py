"""The test run: same real services as development, fast password hashing, mail kept in memory.

pytest starts the embedded services before these settings load (localdev.pytest_plugin);
importing this module starts nothing and writes nothing."""

import hashlib
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Tests talk to localdev/stripe_server.py (tests/billing/conftest.py sets STRIPE_API_BASE).
os.environ.setdefault("STRIPE_API_KEY", "sk_test_local")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")
# Tests talk to localdev/slack_server.py (tests/integrations/conftest.py sets its URLs).
os.environ.setdefault("SLACK_OAUTH_CLIENT_ID", "1111.2222")
os.environ.setdefault("SLACK_OAUTH_CLIENT_SECRET", "slack-test-client-secret")
os.environ.setdefault("SLACK_SIGNING_SECRET", "slack-test-signing-secret")

# Single sign-on may use the local identity provider over http (localdev/oidc_provider).
os.environ.setdefault("SSO_ALLOW_HTTP_ISSUERS", "1")
# Connecting Drive by consent may use the local Drive-format server's OAuth endpoints over
# http: requests-oauthlib (under google-auth-oauthlib) refuses http unless told so.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
# Sources may be the local servers the tests start (connectors' address guard allows these).
os.environ.setdefault("CONNECTOR_ALLOWED_PRIVATE_NETWORKS", "127.0.0.1/32")

from .base import *  # noqa: F403

SHARED_APPS = [*SHARED_APPS, "localdev"]  # noqa: F405  (no models; see dev.py)
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Tests get a queue of their own, so a development worker on the same Redis never takes
# (and runs against the development database) a task queued by a test. The checkout's path
# is in the name because two checkouts testing at once share the machine's Redis, and each
# has its own embedded database. A test that runs a worker process of its own names a queue
# of its own in the environment (tests/tenants/test_pooled_connections.py).
CELERY_TASK_DEFAULT_QUEUE = env.str(  # noqa: F405
    "CELERY_TASK_DEFAULT_QUEUE",
    default="tests-" + hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:12],  # noqa: F405
)
WHITENOISE_USE_FINDERS = True
# Loading torch in the background slows a freshly started test server's first pages for
# seconds on a busy machine; the tests that ask questions wait for the model instead.
EMBEDDINGS_PRELOAD = env.bool("EMBEDDINGS_PRELOAD", default=False)  # noqa: F405

# The answer cache (assistant.answer_cache) lives in the machine's shared Redis: tests that
# want it turn it on, under a prefix of this run's own, so an answer cached by another run
# (whose database had other chunk ids) is never read back. Off by default so that a test
# repeating another's question still reaches the model it is testing.
ANSWER_CACHE_SECONDS = 0
ANSWER_CACHE_PREFIX = f"tests-{os.getpid()}-{os.urandom(4).hex()}"
# The REST API's rate-limit counters (billing.rate_limits), apart from development's.
RATE_LIMIT_KEY_PREFIX = "ratelimit-" + CELERY_TASK_DEFAULT_QUEUE
# Each test runs in one transaction that only the test thread's connection sees: async views'
# database work stays on that thread (tests/assistant/test_concurrent_streams.py turns the
# production pool back on, and so does a server process serving committed data in
# tests/tenants/test_pooled_connections.py).
ASYNC_DATABASE_IN_CALLERS_THREAD = env.bool(  # noqa: F405
    "ASYNC_DATABASE_IN_CALLERS_THREAD", default=True
)
