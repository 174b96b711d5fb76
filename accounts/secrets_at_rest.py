"""Secrets kept in the database (a Slack bot token, a source's credentials): Fernet
(AES-128-CBC with HMAC-SHA256) under a list of keys, the first of which encrypts while every
one decrypts, so a key is rotated by putting a new one first (`secret_reencrypt` moves a
stored value onto it). Without keys configured, one is derived from DJANGO_SECRET_KEY and
the purpose (development), so two purposes never share a key."""

import base64
import hashlib
from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored value was encrypted under a key that is no longer configured."""


def _vault(keys: Sequence[str], purpose: str) -> MultiFernet:
    chosen = list(keys) or [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()
        ).decode()
    ]
    return MultiFernet([Fernet(key) for key in chosen])


def secret_encrypt(plain: str, *, keys: Sequence[str], purpose: str) -> str:
    return _vault(keys, purpose).encrypt(plain.encode()).decode()


def secret_decrypt(encrypted: str, *, keys: Sequence[str], purpose: str) -> str:
    return _opened(_vault(keys, purpose).decrypt, encrypted).decode()


def secret_reencrypt(encrypted: str, *, keys: Sequence[str], purpose: str) -> str:
    """The same secret under the first key (after a rotation)."""
    return _opened(_vault(keys, purpose).rotate, encrypted).decode()


def _opened(operation: Callable[[bytes], bytes], encrypted: str) -> bytes:
    try:
        return operation(encrypted.encode())
    except InvalidToken:
        raise SecretUnreadable(
            "The stored secret cannot be read with the configured keys; enter it again."
        ) from None
