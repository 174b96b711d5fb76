"""Settings shared by every environment; values come from the environment (django-environ)."""

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import django_stubs_ext
import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

from saas.observability import init_sentry, logging_config

# Lets admin and model generics (ModelAdmin[Organization]) be subscripted at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")

# Organizations live at <slug>.<BASE_DOMAIN>; the bare domain is the public site.
BASE_DOMAIN = env.str("BASE_DOMAIN", default="localhost")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Apps split between the public schema and every organization's schema. The split is
# asserted by tests/test_tenancy_split.py: an app is in exactly one list, except the
# user model (accounts) and the contrib apps it needs, which both kinds of schema hold:
# platform staff sign in to the public admin, members sign in inside their organization.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "billing",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django.contrib.postgres",
]
TENANT_APPS = [
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "allauth",
    "allauth.account",
    "allauth.usersessions",
    "allauth.mfa",
    "audit",
    "members",
    "workspaces",
    "assistant",
    "lifecycle",
]

# --- Single sign-on (issue 14) ---------------------------------------------------------------
# Each organization may sign its members in through its own OpenID Connect identity provider
# (Members -> Single sign-on; members.models.IdentityProvider). allauth's social accounts live in
# every organization's schema; the adapter builds the provider's app from that organization's
# row, so nothing about it is in settings.
TENANT_APPS += [
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    # SAML 2.0 (python3-saml, xmlsec): signed assertions only (members.adapter).
    "allauth.socialaccount.providers.saml",
]
SOCIALACCOUNT_ADAPTER = "members.adapter.OrganizationSocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
# A person whose identity provider vouches for an address a member already has signs in to
# that member (connected, not duplicated); allauth wipes the password of an account whose
# address was never verified here, so that whoever set it cannot share the account.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
# Password sign-in and reset honour "require single sign-on" (owners keep them: break-glass).
ACCOUNT_FORMS = {
    "login": "members.forms.OrganizationLoginForm",
    "reset_password": "members.forms.OrganizationResetPasswordForm",
}
# Issuers (and SAML metadata and sign-in URLs) must be https; dev and test settings allow http
# for the local identity providers.
SSO_ALLOW_HTTP_ISSUERS = env.bool("SSO_ALLOW_HTTP_ISSUERS", default=False)
SSO_DISCOVERY_TIMEOUT_SECONDS = env.float("SSO_DISCOVERY_TIMEOUT_SECONDS", default=5.0)
# --- end of single sign-on -------------------------------------------------------------------

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New organizations are copied from this schema (tenants.schema_clone) instead of running
# every migration per signup; it is an Organization row, so migrate_schemas keeps it current.
ORGANIZATION_TEMPLATE_SCHEMA = "tenant_template"
# migrate_schemas migrates only the schemas that are behind, each in one transaction, this
# many at a time in forked processes (tenants.schema_migrations); `--executor=standard` is
# django-tenants' own, every schema one after another.
GET_EXECUTOR_FUNCTION = "tenants.schema_migrations.executor_get"
MIGRATE_SCHEMAS_PROCESSES = env.int("MIGRATE_SCHEMAS_PROCESSES", default=2)
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
ROOT_URLCONF = "saas.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "saas.observability.request_context",
    "saas.middleware.signed_in_pages_not_stored",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.sessions.session_idle_timeout",
    "members.two_factor.two_factor_required",
    "lifecycle.middleware.read_only_while_deletion_due",
    "allauth.account.middleware.AccountMiddleware",
    "audit.context.audit_address",
]

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no
# inline script, style attribute or eval (htmx is told not to inject its indicator style:
# templates/base.html). form-action is left open because forms end on other hosts by design:
# signup on the organization's subdomain, checkout and the portal on Stripe.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Pico's icons are data: SVGs in its stylesheet
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Powerful browser features the product never uses.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.organization",
                "billing.context_processors.billing",
            ],
        },
    },
]

ASGI_APPLICATION = "saas.asgi.application"

_database = env.db("DATABASE_URL")
# A unix-socket host arrives percent-encoded in the URL (postgres://user@%2Fpath/db).
_database["HOST"] = unquote(str(_database.get("HOST", "")))
# django-tenants' backend with the schema set in each transaction rather than on the session,
# so that a pooler in transaction mode cannot hand one organization's schema to another's
# statements (tenants/postgresql_backend/base.py; docs/architecture.md, "Connections").
_database["ENGINE"] = "tenants.postgresql_backend"
_database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# host:port of a PgBouncer in front of DATABASE_URL's server (production: a sidecar of each
# instance, infra/pgbouncer/), which pools connections per transaction; the user, password and
# database stay DATABASE_URL's. Over the loopback: no TLS to it (it has its own to the server).
DATABASE_PGBOUNCER = env.str("DATABASE_PGBOUNCER", default="")
if DATABASE_PGBOUNCER:
    _database["HOST"], _database["PORT"] = DATABASE_PGBOUNCER.rsplit(":", 1)
    _database.setdefault("OPTIONS", {})["sslmode"] = "disable"
DATABASES = {"default": _database}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.OrganizationAuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
# A path, not a URL name: the public site's URL conf (platform staff signing in to the admin
# without a `next`) has no workspaces:dashboard, and "/" is the dashboard on a tenant's site.
LOGIN_REDIRECT_URL = "/"

# django-allauth: email + password inside an organization; nobody signs up on a
# tenant subdomain except by invitation (members.adapter.OrganizationAccountAdapter).
ACCOUNT_ADAPTER = "members.adapter.OrganizationAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Knowledge Assistant] "
# allauth.usersessions lists a person's signed-in sessions (Account → Sessions) and signs out
# the others; the adapter records that in the audit log.
USERSESSIONS_ADAPTER = "members.adapter.AuditedUserSessionsAdapter"
# Two-factor sign-in (allauth.mfa): an authenticator app (TOTP) and single-use recovery codes.
# Owners can require it for everyone (Members → Security; members.two_factor).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Platform staff (public schema) sign in to /admin/ with a password and an authenticator
# app's code; allauth.mfa's table is in the public schema as well for them. `manage.py
# staff_totp EMAIL` sets the app up. Off only to get into a deployment with no enrolled staff.
SHARED_APPS += ["allauth.mfa"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
PLATFORM_STAFF_REQUIRE_TWO_FACTOR = env.bool("PLATFORM_STAFF_REQUIRE_TWO_FACTOR", default=True)

# Throttles, counted in the cache (Redis in production; saas/settings/prod.py). Failed
# sign-ins: per client address, and per account address and client together (an attacker
# cannot lock the rightful owner out); the same numbers guard the platform admin's login.
LOGIN_FAILURES_PER_CLIENT = env.int("LOGIN_FAILURES_PER_CLIENT", default=20)
LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT = env.int("LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT", default=5)
LOGIN_FAILURES_WINDOW_SECONDS = env.int("LOGIN_FAILURES_WINDOW_SECONDS", default=15 * 60)
ACCOUNT_RATE_LIMITS = {
    "login_failed": (
        f"{LOGIN_FAILURES_PER_CLIENT}/{LOGIN_FAILURES_WINDOW_SECONDS}s/ip,"
        f"{LOGIN_FAILURES_PER_ACCOUNT_AND_CLIENT}/{LOGIN_FAILURES_WINDOW_SECONDS}s/key"
    ),
}
# Each signup creates a schema: at most this many organizations per client address an hour.
SIGNUPS_PER_CLIENT_PER_HOUR = env.int("SIGNUPS_PER_CLIENT_PER_HOUR", default=5)

SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A signed-in session with no request for this many minutes is signed out (0: never).
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=120)

INVITATION_MAX_AGE_SECONDS = env.int("INVITATION_MAX_AGE_SECONDS", default=7 * 24 * 3600)
HANDOFF_MAX_AGE_SECONDS = 60

# The audit log keeps events this many days; `manage.py audit_prune` (and Celery beat, daily)
# deletes older ones.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# Knowledge bases
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)
# A request body over this is refused with 413 before it is read (saas.request_limits): an
# upload of several files goes up in one request.
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=2 * MAX_UPLOAD_BYTES)
# all-MiniLM-L6-v2 reads at most 256 word pieces: a chunk of 224 leaves room for the
# heading path that is embedded with it; the overlap is about 15 %.
CHUNK_TOKENS = env.int("CHUNK_TOKENS", default=224)
CHUNK_OVERLAP_TOKENS = env.int("CHUNK_OVERLAP_TOKENS", default=34)
DOCX_MAX_UNPACKED_BYTES = env.int("DOCX_MAX_UNPACKED_BYTES", default=200 * 1024 * 1024)
# Scanned pages whose mean OCR confidence is below this are named on the document's page.
OCR_LOW_CONFIDENCE = env.float("OCR_LOW_CONFIDENCE", default=0.8)
EMBEDDINGS_PROVIDER = env.str("EMBEDDINGS_PROVIDER", default="local")  # local | vertex
EMBEDDING_DIMENSIONS = env.int("EMBEDDING_DIMENSIONS", default=384)
EMBEDDING_BATCH_SIZE = env.int("EMBEDDING_BATCH_SIZE", default=64)
# onnx: the bundled weights exported to an int8 ONNX model (workspaces.embedding.export),
# about twice torch's chunks/s (bench/ingest.py); torch: sentence-transformers.
EMBEDDINGS_LOCAL_RUNTIME = env.str("EMBEDDINGS_LOCAL_RUNTIME", default="onnx")
# Where the export is written (the image makes it at build: `manage.py embeddings_export`).
EMBEDDINGS_ONNX_DIR = env.str("EMBEDDINGS_ONNX_DIR", default=str(BASE_DIR / ".run" / "models"))
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=0)  # 0: ONNX Runtime's choice
# The web server loads the model when it starts rather than on the first question.
EMBEDDINGS_PRELOAD = env.bool("EMBEDDINGS_PRELOAD", default=True)
# EMBEDDINGS_PROVIDER=vertex: a Vertex AI text embedding model asked for EMBEDDING_DIMENSIONS
# (outputDimensionality), so its vectors fit the chunk column; VERTEX_PROJECT etc. below.
VERTEX_EMBEDDING_MODEL = env.str("VERTEX_EMBEDDING_MODEL", default="text-embedding-005")
# text-embedding-005 takes at most 250 texts and 20,000 tokens a request.
VERTEX_EMBEDDING_BATCH_SIZE = env.int("VERTEX_EMBEDDING_BATCH_SIZE", default=100)
# Attempts per batch on 429/5xx/network errors, waiting 1, 2, 4... s (capped at 30 s).
VERTEX_EMBEDDING_ATTEMPTS = env.int("VERTEX_EMBEDDING_ATTEMPTS", default=5)
VERTEX_EMBEDDING_BACKOFF_SECONDS = env.float("VERTEX_EMBEDDING_BACKOFF_SECONDS", default=1.0)

# Retrieval (workspaces.search.retrieval)
RETRIEVAL_CANDIDATES = env.int("RETRIEVAL_CANDIDATES", default=100)  # per leg, before fusion
# The HNSW candidate list when every chunk is readable; it grows up to fourfold (at most 1,000)
# as the readable share shrinks (workspaces.search.retrieval).
RETRIEVAL_EF_SEARCH = env.int("RETRIEVAL_EF_SEARCH", default=300)
# Up to this many readable chunks the vector leg is exact (every readable chunk's distance)
# rather than a walk of the HNSW graph: as fast or faster there, and it cannot miss.
RETRIEVAL_EXACT_MAX_CHUNKS = env.int("RETRIEVAL_EXACT_MAX_CHUNKS", default=20_000)
# The vector leg runs on a connection of its own, beside the lexical leg, from a pool of
# RETRIEVAL_VECTOR_LEG_THREADS threads (each keeps a database connection open).
RETRIEVAL_CONCURRENT_LEGS = env.bool("RETRIEVAL_CONCURRENT_LEGS", default=True)
RETRIEVAL_VECTOR_LEG_THREADS = env.int("RETRIEVAL_VECTOR_LEG_THREADS", default=8)
RETRIEVAL_RRF_K = env.float("RETRIEVAL_RRF_K", default=60.0)
RETRIEVAL_VECTOR_WEIGHT = env.float("RETRIEVAL_VECTOR_WEIGHT", default=1.0)
RETRIEVAL_LEXICAL_WEIGHT = env.float("RETRIEVAL_LEXICAL_WEIGHT", default=1.0)
RETRIEVAL_BM25_K1 = env.float("RETRIEVAL_BM25_K1", default=1.2)
RETRIEVAL_BM25_B = env.float("RETRIEVAL_BM25_B", default=0.75)
RETRIEVAL_HEADING_WEIGHT = env.float("RETRIEVAL_HEADING_WEIGHT", default=1.0)
RETRIEVAL_MAX_QUERY_CHARS = env.int("RETRIEVAL_MAX_QUERY_CHARS", default=2000)
# The retrieval test page shows results under this vector similarity that the lexical leg did
# not find apart, below "the relevance floor": fusion ranks them, but they are noise.
RETRIEVAL_RELEVANCE_FLOOR = env.float("RETRIEVAL_RELEVANCE_FLOOR", default=0.25)
# Lexical candidates come from the query's rarer words only (every word is still scored):
# words in at most this share of the chunks, while the readable chunks they are expected to
# match stay within the budget; at least the N rarest. See workspaces/search/retrieval.py. A word
# in at most MATCH_FLOOR chunks is never common: in a small knowledge base "annual" (7 of
# 101 chunks) is what finds the leave table.
RETRIEVAL_LEXICAL_MATCH_SHARE = env.float("RETRIEVAL_LEXICAL_MATCH_SHARE", default=0.05)
RETRIEVAL_LEXICAL_MATCH_FLOOR = env.int("RETRIEVAL_LEXICAL_MATCH_FLOOR", default=50)
RETRIEVAL_LEXICAL_MATCH_BUDGET = env.int("RETRIEVAL_LEXICAL_MATCH_BUDGET", default=1000)
RETRIEVAL_LEXICAL_MATCH_MIN_TERMS = env.int("RETRIEVAL_LEXICAL_MATCH_MIN_TERMS", default=1)

# Answering (assistant.answering, assistant.llm)
ASSISTANT_PROVIDER = env.str("ASSISTANT_PROVIDER", default="extractive")  # extractive | vertex
ASSISTANT_MAX_QUESTION_CHARS = env.int("ASSISTANT_MAX_QUESTION_CHARS", default=2000)
ASSISTANT_PASSAGES = env.int("ASSISTANT_PASSAGES", default=6)  # numbered passages per answer
ASSISTANT_HISTORY_TURNS = env.int("ASSISTANT_HISTORY_TURNS", default=3)
# A message left "streaming" this long (its server went away) may be taken over.
ASSISTANT_STREAM_STALE_SECONDS = env.int("ASSISTANT_STREAM_STALE_SECONDS", default=120)
# The answer model's probability below which the extractive provider refuses; unset, the
# threshold its training run chose (assistant/answer_model/artefact/answer-model.json).
ASSISTANT_EXTRACTIVE_MIN_PROBABILITY = env.float(
    "ASSISTANT_EXTRACTIVE_MIN_PROBABILITY", default=None
)
# Tokens (question and unit, summed over units) the answer model reads per answer, units of
# the best-ranked passages first: its time grows with them. See bench/answer_model.py.
ASSISTANT_EXTRACTIVE_TOKEN_BUDGET = env.int("ASSISTANT_EXTRACTIVE_TOKEN_BUDGET", default=4000)
# How the extractive provider scores units: `rules` (embedding similarity and term overlap,
# weighted by hand; the default while `model` trails it on handbook sets A and C, see
# assistant/answer_model/MODEL_CARD.md) or `model` (the answer model, calibrated).
ASSISTANT_EXTRACTIVE_SCORER = env.str("ASSISTANT_EXTRACTIVE_SCORER", default="rules")
ASSISTANT_EXTRACTIVE_SHORTLIST = env.int("ASSISTANT_EXTRACTIVE_SHORTLIST", default=8)
# The rules scorer's weights and refusal threshold: a file `manage.py fit_rules_weights` wrote,
# or unset, the hand-set ones (assistant/llm/rules_plan.py says why); MIN_SCORE, when set,
# overrides the threshold (hand-set: 0.4).
ASSISTANT_EXTRACTIVE_WEIGHTS = env.str("ASSISTANT_EXTRACTIVE_WEIGHTS", default="")
ASSISTANT_EXTRACTIVE_MIN_SCORE = env.float("ASSISTANT_EXTRACTIVE_MIN_SCORE", default=None)
ASSISTANT_EXTRACTIVE_KEEP_RATIO = env.float("ASSISTANT_EXTRACTIVE_KEEP_RATIO", default=0.75)
# An extra sentence must bring at least this share of the question's weight the chosen
# ones lack; a follow-up's units said like the previous answer gain this much.
ASSISTANT_EXTRACTIVE_MIN_GAIN = env.float("ASSISTANT_EXTRACTIVE_MIN_GAIN", default=0.1)
ASSISTANT_EXTRACTIVE_PARALLEL_WEIGHT = env.float(
    "ASSISTANT_EXTRACTIVE_PARALLEL_WEIGHT", default=0.3
)
# Not answering a question about one office from another office's pages, and saying so
# (assistant/llm/scope.py); off only to measure what it does.
ASSISTANT_EXTRACTIVE_SCOPE_CHECK = env.bool("ASSISTANT_EXTRACTIVE_SCOPE_CHECK", default=True)
# At most this many parts (a sentence, a table's rows, a list) in an answer.
ASSISTANT_EXTRACTIVE_MAX_SENTENCES = env.int("ASSISTANT_EXTRACTIVE_MAX_SENTENCES", default=3)
# "Summarise X": the opening sentences of at most this many of X's sections.
ASSISTANT_EXTRACTIVE_SUMMARY_SECTIONS = env.int("ASSISTANT_EXTRACTIVE_SUMMARY_SECTIONS", default=6)
ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS = env.int("ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS", default=25)
VERTEX_PROJECT = env.str("VERTEX_PROJECT", default="")
VERTEX_LOCATION = env.str("VERTEX_LOCATION", default="us-central1")
VERTEX_MODEL = env.str("VERTEX_MODEL", default="gemini-2.5-flash")
VERTEX_TEMPERATURE = env.float("VERTEX_TEMPERATURE", default=0.2)
VERTEX_MAX_OUTPUT_TOKENS = env.int("VERTEX_MAX_OUTPUT_TOKENS", default=1024)
VERTEX_THINKING_BUDGET = env.int("VERTEX_THINKING_BUDGET", default=0)
VERTEX_TIMEOUT_SECONDS = env.float("VERTEX_TIMEOUT_SECONDS", default=30.0)
VERTEX_MAX_RETRIES = env.int("VERTEX_MAX_RETRIES", default=1)
# Both empty in production (Vertex AI's own endpoint, Application Default Credentials);
# set to the local Vertex-format server (localdev/vertex_server.py) offline.
VERTEX_BASE_URL = env.str("VERTEX_BASE_URL", default="")
VERTEX_ACCESS_TOKEN = env.str("VERTEX_ACCESS_TOKEN", default="")
# Reranking (workspaces/search/rerank.py): `vertex` re-orders the fused top RERANK_CANDIDATES
# through the Vertex AI ranking API (Discovery Engine RankService); past
# RERANK_TIMEOUT_SECONDS, or on an error, the fused order stands. RERANK_BASE_URL empty:
# Google's endpoint with Application Default Credentials (or VERTEX_ACCESS_TOKEN when set).
# `local`: the answer model (assistant/answer_model/) scores the candidates on this machine.
RERANK_PROVIDER = env.str("RERANK_PROVIDER", default="none")  # none | vertex | local
RERANK_MODEL = env.str("RERANK_MODEL", default="semantic-ranker-default@latest")
RERANK_CANDIDATES = env.int("RERANK_CANDIDATES", default=20)
RERANK_TIMEOUT_SECONDS = env.float("RERANK_TIMEOUT_SECONDS", default=0.5)
RERANK_LOCATION = env.str("RERANK_LOCATION", default="global")
RERANK_BASE_URL = env.str("RERANK_BASE_URL", default="")

# Billing (billing/). Without STRIPE_API_KEY, `make dev` runs the local Stripe-format server
# (localdev/stripe_server.py) and points STRIPE_API_BASE at it; see the README.
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# The version the pinned stripe package (16.1.0) is generated for.
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2026-10-28.endive")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # empty: https://api.stripe.com
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)

# --- Usage ledger, model prices and the answer cache (issue 14, branch i14-ledger) ---
# US dollars per million tokens, [input, output], by the model name a provider reports (a
# versioned name such as "gemini-2.5-flash-001" takes its family's price). A model not
# listed costs 0 and is logged. Override all of it with MODEL_PRICES_JSON, e.g.
# '{"gemini-2.5-flash": [0.30, 2.50]}'. The extractive answerer and the local embedding
# model run on our own CPU: no per-token price.
MODEL_PRICES_PER_MILLION_TOKENS: dict[str, list[float]] = env.json(
    "MODEL_PRICES_JSON",
    default={
        "gemini-2.5-flash": [0.30, 2.50],
        "gemini-2.5-flash-lite": [0.10, 0.40],
        "gemini-2.5-pro": [1.25, 10.00],
        "gemini-2.0-flash": [0.15, 0.60],
    },
)
# An identical standalone question over the same readable workspaces, index version, model
# and prompt is answered from Redis for this long (0 turns the cache off).
ANSWER_CACHE_SECONDS = env.int("ANSWER_CACHE_SECONDS", default=24 * 3600)
ANSWER_CACHE_PREFIX = env.str("ANSWER_CACHE_PREFIX", default="answers")
# --- end of the usage ledger block ---

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".run" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".run" / "media")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Knowledge Assistant <no-reply@localhost>"
)

REDIS_URL = env.str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Async views' database work (tenants.schemas.in_tenant) runs on a pool of threads, so that
# many answer streams at once do not take turns; True puts it on the one thread Django keeps
# for synchronous code, as the test settings do (each test is one open transaction, which
# only that thread's connection sees).
ASYNC_DATABASE_IN_CALLERS_THREAD = env.bool("ASYNC_DATABASE_IN_CALLERS_THREAD", default=False)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Ingestion that heals itself (workspaces/ingestion/tasks.py): a document whose task started
# this many times without finishing (its worker died each time) fails with a reason instead
# of looping; a task past the soft limit fails its document with a reason, the hard limit
# kills it; the sweeper requeues (or fails) documents left queued/parsing/embedding for longer
# than INGEST_STRANDED_MINUTES, which must exceed the hard limit.
INGEST_MAX_DELIVERIES = env.int("INGEST_MAX_DELIVERIES", default=3)
INGEST_SOFT_TIME_LIMIT_SECONDS = env.float("INGEST_SOFT_TIME_LIMIT_SECONDS", default=1800)
INGEST_TIME_LIMIT_SECONDS = env.float("INGEST_TIME_LIMIT_SECONDS", default=1860)
INGEST_STRANDED_MINUTES = env.int("INGEST_STRANDED_MINUTES", default=45)
INGEST_SWEEP_SECONDS = env.int("INGEST_SWEEP_SECONDS", default=300)
# Large documents are ingested on a lane (queue) of their own, "<default queue>.large", which
# its own worker serves INGEST_LARGE_CONCURRENCY at a time: small documents never wait behind
# them (bench/fairness.py). Large: a PDF of INGEST_LARGE_PAGES pages or any file of
# INGEST_LARGE_BYTES.
INGEST_LARGE_PAGES = env.int("INGEST_LARGE_PAGES", default=40)
INGEST_LARGE_BYTES = env.int("INGEST_LARGE_BYTES", default=8 * 1024 * 1024)
INGEST_LARGE_CONCURRENCY = env.int("INGEST_LARGE_CONCURRENCY", default=1)
# Changing an organization's embedding model (workspaces.embedding.change) re-embeds its chunks on
# the large lane, REEMBED_BATCH_SIZE at a time, in task runs of about REEMBED_RUN_SECONDS.
REEMBED_BATCH_SIZE = env.int("REEMBED_BATCH_SIZE", default=128)
REEMBED_RUN_SECONDS = env.float("REEMBED_RUN_SECONDS", default=60)
# Task modules outside an app's `tasks.py`, which autodiscovery finds by itself.
CELERY_IMPORTS = ["workspaces.ingestion.tasks"]
# Data lifecycle (lifecycle/): retention runs daily at this hour (UTC), and the data page
# says when the next run is; an export's download link lasts this long, and the archive is
# deleted after its one download or by the daily run once the link has expired.
RETENTION_RUN_HOUR = env.int("RETENTION_RUN_HOUR", default=3)
DATA_EXPORT_LINK_MAX_AGE_SECONDS = env.int("DATA_EXPORT_LINK_MAX_AGE_SECONDS", default=24 * 3600)
# An organization an owner asks to delete is read-only for the grace period, then deleted by
# the sweep beat runs this often.
ORGANIZATION_DELETION_GRACE_DAYS = env.int("ORGANIZATION_DELETION_GRACE_DAYS", default=14)
ORGANIZATION_DELETION_SWEEP_SECONDS = env.int("ORGANIZATION_DELETION_SWEEP_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE = {
    "audit-prune": {"task": "audit.tasks.audit_prune_task", "schedule": 24 * 3600},
    "organization-deletions": {
        "task": "lifecycle.tasks.organization_deletions_task",
        "schedule": ORGANIZATION_DELETION_SWEEP_SECONDS,
    },
    "retention": {
        "task": "lifecycle.tasks.retention_apply_task",
        "schedule": crontab(hour=RETENTION_RUN_HOUR, minute=0),
    },
    "ingestion-sweep": {
        "task": "workspaces.tasks.documents_sweep_task",
        "schedule": INGEST_SWEEP_SECONDS,
    },
}

# Logs: `text` (development) or `json`, one object a line in Cloud Logging's shape (the
# production default), each with the request id, organization schema and user id
# (saas.observability). Celery's worker keeps Django's logging instead of its own.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Cloud Logging links a line to its request's trace when the trace names the project.
GOOGLE_CLOUD_PROJECT = env.str("GOOGLE_CLOUD_PROJECT", default="")
# Errors of the web service and the worker go to Sentry when SENTRY_DSN is set (no personal
# data is sent).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
init_sentry(
    SENTRY_DSN,
    environment=env.str("SENTRY_ENVIRONMENT", default=""),
    release=env.str("SENTRY_RELEASE", default=""),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
)

# --- REST API (api/, issue 14) -------------------------------------------------------------
# Django REST Framework under /api/v1/ on each organization's host, authenticated by API keys
# (api.authentication) or a signed-in session (with CSRF); errors are RFC 9457 problem
# details (api.problems); the OpenAPI 3 schema and Swagger UI (drf-spectacular, its static
# files from drf-spectacular-sidecar) at /api/v1/schema/ and /api/v1/docs/.
SHARED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
TENANT_APPS += ["api"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    # The stream is chosen by `Accept: text/event-stream`, not by a ?format= parameter.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Knowledge Assistant API",
    "DESCRIPTION": (
        "Workspaces, documents, search and answers of one organization. Authenticate with "
        "`Authorization: Bearer <key>` (Members → API keys). Errors are RFC 9457 problem "
        "details (`application/problem+json`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links: Swagger UI then renders each path as a link inside the operation's
    # button, a nested interactive control that screen readers cannot reach (axe).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "persistAuthorization": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # Named enums where a field name (kind, state) means different things in two places.
    "ENUM_NAME_OVERRIDES": {
        "SourceKindEnum": "connectors.models.SourceKind",
        "SourceStateEnum": "connectors.models.SyncState",
        "SourceScheduleEnum": "connectors.models.Schedule",
    },
}
# Counters of billing.rate_limits in Redis are namespaced by this (tests use their own).
RATE_LIMIT_KEY_PREFIX = env.str("RATE_LIMIT_KEY_PREFIX", default="ratelimit")

# --- Slack app (integrations/, issue 29) -----------------------------------------------------
# One Slack app serves every organization: its events, slash command and buttons come to one
# URL on the public site (/slack/events/), signed with SLACK_SIGNING_SECRET; the Slack team in
# each request names the organization (integrations.directory, public schema). Install details
# and the bot token, encrypted, live in the organization's schema (integrations.models).
# `integrations` is a tenant app; its `directory` is shared (tests/test_tenancy.py).
SHARED_APPS += ["integrations.directory"]
TENANT_APPS += ["integrations"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
# Not Bolt's own SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: with those in the environment, slack-bolt
# sets up an OAuth flow of its own with file-based stores, which this product does not use.
SLACK_OAUTH_CLIENT_ID = env.str("SLACK_OAUTH_CLIENT_ID", default="")
SLACK_OAUTH_CLIENT_SECRET = env.str("SLACK_OAUTH_CLIENT_SECRET", default="")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
# Slack's Web API and its OAuth page; the local Slack-format server (localdev/slack_server.py)
# offline and in the tests.
SLACK_API_BASE_URL = env.str("SLACK_API_BASE_URL", default="https://slack.com/api/")
SLACK_AUTHORIZE_URL = env.str("SLACK_AUTHORIZE_URL", default="https://slack.com/oauth/v2/authorize")
# Fernet keys (urlsafe base64 of 32 bytes) bot tokens were encrypted under before envelope
# encryption (SECRETS_KMS_KEY below): read only, until `manage.py secrets_rotate` has
# re-encrypted them. Empty: one derived from DJANGO_SECRET_KEY.
SLACK_TOKEN_KEYS = env.list("SLACK_TOKEN_KEYS", default=[])
# An answer is edited in place as it grows, at most once per this many seconds (chat.update
# is rate limited per channel: about one a second).
SLACK_UPDATE_INTERVAL_SECONDS = env.float("SLACK_UPDATE_INTERVAL_SECONDS", default=1.0)
# A Slack message answered once is remembered this long, so a retried delivery
# (X-Slack-Retry-Num) never produces a second answer.
SLACK_DEDUPE_SECONDS = env.int("SLACK_DEDUPE_SECONDS", default=24 * 3600)
# Rate-limited Web API calls (429) are retried this many times after Retry-After.
SLACK_RATE_LIMIT_RETRIES = env.int("SLACK_RATE_LIMIT_RETRIES", default=3)

# --- Secrets at rest (accounts/secrets_at_rest.py) --------------------------------------------
# Sources' credentials, Slack bot tokens and the single sign-on client secret are envelope-
# encrypted (Tink): a data key per value, wrapped by the key-encryption key. That key is the
# Cloud KMS key named here (production: projects/P/locations/L/keyRings/R/cryptoKeys/K, from
# infra/terraform/kms.tf) or else SECRETS_KEYSET (a Tink AEAD keyset as JSON, from `manage.py
# secrets_keyset`), or else one derived from DJANGO_SECRET_KEY (development). Rotation:
# `manage.py secrets_rotate` re-encrypts every stored secret under the key in force.
SECRETS_KMS_KEY = env.str("SECRETS_KMS_KEY", default="")
# Another server speaking Cloud KMS's REST API (the local one, localdev/kms_server.py) and a
# static bearer token for it; empty in production (Google's endpoint, the service account).
SECRETS_KMS_ENDPOINT = env.str("SECRETS_KMS_ENDPOINT", default="")
SECRETS_KMS_ACCESS_TOKEN = env.str("SECRETS_KMS_ACCESS_TOKEN", default="")
SECRETS_KEYSET = env.str("SECRETS_KEYSET", default="")

# --- Connectors (issue 27): sources that sync into workspaces --------------------------------
TENANT_APPS += ["connectors"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
# Fernet keys sources' credentials were encrypted under before envelope encryption
# (SECRETS_KMS_KEY above): read only, until `manage.py secrets_rotate` has re-encrypted them.
# Empty: one derived from DJANGO_SECRET_KEY.
CONNECTOR_SECRET_KEYS = env.list("CONNECTOR_SECRET_KEYS", default=[])
# A source's address that resolves to a private, loopback, link-local or otherwise
# non-public network is refused (on every redirect too), so that a source cannot be used to
# read the organization's neighbours inside our network. Networks listed here (CIDR) are
# allowed anyway: only the tests and local development list any (127.0.0.1/32).
CONNECTOR_ALLOWED_PRIVATE_NETWORKS = env.list("CONNECTOR_ALLOWED_PRIVATE_NETWORKS", default=[])
CONNECTOR_USER_AGENT = env.str(
    "CONNECTOR_USER_AGENT", default="KnowledgeAssistantBot/1.0 (+https://localhost/bot)"
)
CONNECTOR_HTTP_TIMEOUT_SECONDS = env.float("CONNECTOR_HTTP_TIMEOUT_SECONDS", default=20.0)
# A website source reads at most this many pages a sync; a site with more is synced in part
# and, its listing being incomplete, nothing is pruned from it.
CONNECTOR_WEBSITE_MAX_PAGES = env.int("CONNECTOR_WEBSITE_MAX_PAGES", default=1000)
# A source that answers 429 is asked again after its Retry-After, at most this long; the
# sync waits in the queue meanwhile, not in a worker.
CONNECTOR_RETRY_AFTER_MAX_SECONDS = env.int("CONNECTOR_RETRY_AFTER_MAX_SECONDS", default=3600)
# A running sync that has not recorded progress for this long lost its worker: beat queues
# it again and it resumes from its checkpoint.
CONNECTOR_STALLED_MINUTES = env.float("CONNECTOR_STALLED_MINUTES", default=15.0)
CONNECTOR_SCHEDULE_SECONDS = env.int("CONNECTOR_SCHEDULE_SECONDS", default=60)
# A connector that mirrors its source's permissions reads them again (and nothing else) this
# often, whatever its content schedule: how long a reader removed at the source may still
# read the document here.
CONNECTOR_PERMISSIONS_SYNC_MINUTES = env.int("CONNECTOR_PERMISSIONS_SYNC_MINUTES", default=10)
# Google Drive's API and OAuth token endpoint; the local Drive-format server's
# (localdev/drive_server.py) in tests and offline development. Never taken from a pasted key.
GOOGLE_DRIVE_API_URL = env.str(
    "GOOGLE_DRIVE_API_URL", default="https://www.googleapis.com/drive/v3/"
)
GOOGLE_DRIVE_TOKEN_URI = env.str(
    "GOOGLE_DRIVE_TOKEN_URI", default="https://oauth2.googleapis.com/token"
)
# Notion's API; the local Notion-format server's (localdev/notion_server.py) in tests and
# offline development.
NOTION_API_URL = env.str("NOTION_API_URL", default="https://api.notion.com")
# Google's Admin SDK (Directory API), whose group members a Drive source's group readers are.
GOOGLE_ADMIN_API_URL = env.str("GOOGLE_ADMIN_API_URL", default="https://admin.googleapis.com/")
# SharePoint / OneDrive sources: the Microsoft identity platform (an authority is this
# address and the tenant id) and Microsoft Graph; the local Graph-format server's
# (localdev/graph_server.py) in tests and offline development, with MICROSOFT_CA_BUNDLE the
# file its certificate is trusted through (empty: the system's certificate authorities).
MICROSOFT_LOGIN_URL = env.str("MICROSOFT_LOGIN_URL", default="https://login.microsoftonline.com")
MICROSOFT_GRAPH_URL = env.str("MICROSOFT_GRAPH_URL", default="https://graph.microsoft.com/v1.0")
MICROSOFT_CA_BUNDLE = env.str("MICROSOFT_CA_BUNDLE", default="")
# Connecting Google Drive and SharePoint / OneDrive by a person's consent (OAuth 2, the
# authorization code flow with PKCE; connectors/consent.py): our app's client at Google
# (a "Web application" OAuth client) and at Microsoft (a multi-tenant app registration).
# Both send the browser back to one address on the public site,
# https://<BASE_DOMAIN>/sources/oauth/callback/, which must be registered with them. Empty:
# the "Connect" buttons are not shown (a service account or an app's client credentials
# still can be pasted).
GOOGLE_OAUTH_CLIENT_ID = env.str("GOOGLE_OAUTH_CLIENT_ID", default="")
GOOGLE_OAUTH_CLIENT_SECRET = env.str("GOOGLE_OAUTH_CLIENT_SECRET", default="")
GOOGLE_OAUTH_AUTHORIZE_URL = env.str(
    "GOOGLE_OAUTH_AUTHORIZE_URL", default="https://accounts.google.com/o/oauth2/auth"
)
MICROSOFT_OAUTH_CLIENT_ID = env.str("MICROSOFT_OAUTH_CLIENT_ID", default="")
MICROSOFT_OAUTH_CLIENT_SECRET = env.str("MICROSOFT_OAUTH_CLIENT_SECRET", default="")
# The authority's tenant for the consent: "organizations" (any work or school account) for a
# multi-tenant app; a later refresh uses the tenant of the account that consented.
MICROSOFT_OAUTH_TENANT = env.str("MICROSOFT_OAUTH_TENANT", default="organizations")
# How long a consent begun on the Sources page may take to come back (the signed state's age).
SOURCE_CONSENT_MAX_AGE_SECONDS = env.int("SOURCE_CONSENT_MAX_AGE_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["connectors-due"] = {
    "task": "connectors.tasks.connectors_due_task",
    "schedule": CONNECTOR_SCHEDULE_SECONDS,
}
