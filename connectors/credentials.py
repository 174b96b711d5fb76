"""A source's credentials at rest: JSON, Fernet-encrypted under CONNECTOR_SECRET_KEYS
(accounts.secrets_at_rest, the vault the Slack bot tokens use, with a purpose of its own)."""

import json

from django.conf import settings

from accounts.secrets_at_rest import secret_decrypt, secret_encrypt, secret_reencrypt
from connectors.models import Connector

PURPOSE = "connector-credentials"


def credentials_seal(credentials: dict[str, str]) -> str:
    if not credentials:
        return ""
    plain = json.dumps(credentials, sort_keys=True)
    return secret_encrypt(plain, keys=settings.CONNECTOR_SECRET_KEYS, purpose=PURPOSE)


def credentials_open(connector: Connector) -> dict[str, str]:
    if not connector.credentials_encrypted:
        return {}
    plain = secret_decrypt(
        connector.credentials_encrypted, keys=settings.CONNECTOR_SECRET_KEYS, purpose=PURPOSE
    )
    opened: dict[str, str] = json.loads(plain)
    return opened


def credentials_rotate() -> int:
    """Re-encrypt every connector's credentials of the schema in force under the first key
    of CONNECTOR_SECRET_KEYS (after a new key was put first); returns how many."""
    rotated = 0
    for connector in Connector.objects.exclude(credentials_encrypted=""):
        connector.credentials_encrypted = secret_reencrypt(
            connector.credentials_encrypted, keys=settings.CONNECTOR_SECRET_KEYS, purpose=PURPOSE
        )
        connector.save(update_fields=["credentials_encrypted"])
        rotated += 1
    return rotated


def refresh_token_keep(connector: Connector, refresh_token: str) -> None:
    """Keep the refresh token a provider sent in place of the one used (Microsoft rotates
    them), saved at once: a sync that stops later must not fall back to the spent one."""
    credentials = {**credentials_open(connector), "refresh_token": refresh_token}
    connector.credentials_encrypted = credentials_seal(credentials)
    Connector.objects.filter(pk=connector.pk).update(
        credentials_encrypted=connector.credentials_encrypted
    )


def credentials_open_text(sealed: str) -> dict[str, str]:
    """Credentials sealed (credentials_seal) outside a connector: a consent's grant kept in
    the session until the person picks what to sync."""
    opened: dict[str, str] = json.loads(
        secret_decrypt(sealed, keys=settings.CONNECTOR_SECRET_KEYS, purpose=PURPOSE)
    )
    return opened
