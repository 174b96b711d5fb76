"""A source's credentials at rest: JSON, envelope-encrypted through accounts.secrets_at_rest
(Tink; the Cloud KMS key in production), bound to this purpose. Credentials stored before
were Fernet tokens under CONNECTOR_SECRET_KEYS: they still open, and `manage.py
secrets_rotate` re-encrypts them."""

import json

from accounts.secrets_at_rest import secret_open, secret_seal
from connectors.models import Connector

PURPOSE = "connector-credentials"


def credentials_seal(credentials: dict[str, str]) -> str:
    if not credentials:
        return ""
    return secret_seal(json.dumps(credentials, sort_keys=True), purpose=PURPOSE)


def credentials_open(connector: Connector) -> dict[str, str]:
    if not connector.credentials_encrypted:
        return {}
    return credentials_open_text(connector.credentials_encrypted)


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
    opened: dict[str, str] = json.loads(secret_open(sealed, purpose=PURPOSE))
    return opened
