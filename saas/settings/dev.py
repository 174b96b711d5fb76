"""Local development: embedded services, console email. DEBUG only when DJANGO_DEBUG=1."""

import os

from saas.local_services import ensure_local_services

os.environ.setdefault("DJANGO_SECRET_KEY", "dev-only-insecure-secret-key-change-me-in-production")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

ensure_local_services()

from .base import *  # noqa: E402, F403

# Serve static files straight from the source folders: no collectstatic step in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns when it is missing)
