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
