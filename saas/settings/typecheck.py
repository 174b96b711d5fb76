"""For mypy's django-stubs plugin only: it loads the settings to learn the installed apps and
models and never connects, so the test settings with placeholder service URLs do (the test
settings themselves read them from the environment, which pytest fills in)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://typecheck@localhost:5432/typecheck")
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/0")

from .test import *  # noqa: F403
