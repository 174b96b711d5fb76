"""The production settings (saas.settings.prod) as a deployment would load them, with the
required environment set to stand-in values: Django's deployment checklist passes without
one warning, the headers are the strict ones, and the cache is Redis."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_", "EMAIL_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "saas.settings.prod",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": "postgres://app:secret@db.internal:5432/app",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "BASE_DOMAIN": "assistant.example.com",
            "SECRETS_KMS_KEY": "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k",
            **environment,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_check_deploy_with_production_settings_prints_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_warns_when_stored_secrets_have_no_key_of_their_own():
    result = manage("check", "--deploy", "--fail-level", "WARNING", SECRETS_KMS_KEY="")

    assert result.returncode == 1
    assert "accounts.W001" in result.stderr
    assert "rotating that key would make every one of them unreadable" in result.stderr


def test_a_kms_key_name_or_keyset_that_cannot_work_stops_the_start():
    version = "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"

    named = manage("check", SECRETS_KMS_KEY=version)
    keyset = manage("check", SECRETS_KEYSET="{}")

    assert named.returncode == 1 and "accounts.E001" in named.stderr
    assert keyset.returncode == 1 and "accounts.E002" in keyset.stderr
    assert "SECRETS_KEYSET is not a Tink AEAD keyset" in keyset.stderr


def test_production_settings_are_strict_and_cache_on_redis():
    probe = (
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.CACHES['default']['BACKEND'])"
    )

    result = manage("shell", "--no-imports", "-c", probe)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "31536000", "True", "True", "True", "True", "True",
        "django.core.cache.backends.redis.RedisCache",
    ]  # fmt: skip


def test_production_cache_counts_in_redis_across_processes():
    """Two processes (two instances of the web service) see one counter."""
    count = (
        "from django.core.cache import cache; cache.add('throttle-probe', 0, 60); "
        "print(cache.incr('throttle-probe'))"
    )
    redis = settings.REDIS_URL

    first = manage("shell", "--no-imports", "-c", count, REDIS_URL=redis)
    second = manage("shell", "--no-imports", "-c", count, REDIS_URL=redis)
    manage("shell", "--no-imports", "-c", "from django.core.cache import cache; cache.delete('throttle-probe')",
           REDIS_URL=redis)  # fmt: skip

    assert first.returncode == 0, first.stderr
    assert (first.stdout.strip(), second.stdout.strip()) == ("1", "2")
