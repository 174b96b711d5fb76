"""Local development: console email. DEBUG only when DJANGO_DEBUG=1.

DATABASE_URL and REDIS_URL come from the environment like everywhere else; `make dev` and
`manage.py` fill them in with the embedded services (localdev.services) before these
settings load. Importing this module starts nothing and writes nothing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "dev-only-insecure-secret-key-change-me-in-production")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# Single sign-on may use the local identity provider over http (localdev/oidc_provider).
os.environ.setdefault("SSO_ALLOW_HTTP_ISSUERS", "1")
# Sources may be the local Drive-format server and local websites on this machine.
os.environ.setdefault("CONNECTOR_ALLOWED_PRIVATE_NETWORKS", "127.0.0.1/32")

from .base import *  # noqa: F403

# The local stand-ins' management commands (demo_seed, stripe_local, vertex_local). No
# models; django-tenants wants every installed app in SHARED_APPS or TENANT_APPS.
SHARED_APPS = [*SHARED_APPS, "localdev"]  # noqa: F405
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]  # noqa: F405

# Serve static files straight from the source folders: no collectstatic step in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG  # noqa: F405
