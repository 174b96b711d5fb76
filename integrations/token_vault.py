"""Bot tokens at rest: Fernet (AES-128-CBC with HMAC-SHA256) under SLACK_TOKEN_KEYS, the
first of which encrypts while every one decrypts, so a key is rotated by putting a new one
first. Without keys configured, one is derived from DJANGO_SECRET_KEY (development)."""

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _vault() -> MultiFernet:
    keys = list(settings.SLACK_TOKEN_KEYS) or [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"slack-token-vault:{settings.SECRET_KEY}".encode()).digest()
        ).decode()
    ]
    return MultiFernet([Fernet(key) for key in keys])


def token_encrypt(token: str) -> str:
    return _vault().encrypt(token.encode()).decode()


def token_decrypt(encrypted: str) -> str:
    return _vault().decrypt(encrypted.encode()).decode()
