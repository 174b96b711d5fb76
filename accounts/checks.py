"""System checks of the key-encryption key of stored secrets (accounts.secrets_at_rest): a
key name or keyset that cannot work is an error at start, not at the first secret saved; a
deployment without either is warned (`check --deploy`)."""

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from accounts.secrets_at_rest import SecretUnreadable, keyset_aead

KMS_KEY_NAME = re.compile(
    r"^projects/[^/]+/locations/[a-zA-Z0-9_-]{1,63}/keyRings/[a-zA-Z0-9_-]{1,63}"
    r"/cryptoKeys/[a-zA-Z0-9_-]{1,63}$"
)


@register(Tags.security)
def secrets_key_check(**kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.SECRETS_KMS_KEY and not KMS_KEY_NAME.match(settings.SECRETS_KMS_KEY):
        problems.append(
            Error(
                f"SECRETS_KMS_KEY is not a Cloud KMS key name: {settings.SECRETS_KMS_KEY!r}.",
                hint="projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY "
                "(infra/terraform/kms.tf), without a /cryptoKeyVersions/ part.",
                id="accounts.E001",
            )
        )
    if settings.SECRETS_KEYSET:
        try:
            keyset_aead(settings.SECRETS_KEYSET)
        except SecretUnreadable as refusal:
            problems.append(Error(str(refusal), id="accounts.E002"))
    return problems


@register(Tags.security, deploy=True)
def secrets_key_deploy_check(**kwargs: Any) -> list[CheckMessage]:
    if settings.SECRETS_KMS_KEY or settings.SECRETS_KEYSET:
        return []
    return [
        Warning(
            "Secrets stored in the database (sources' credentials, Slack bot tokens, single "
            "sign-on client secrets) are encrypted under a key derived from DJANGO_SECRET_KEY: "
            "rotating that key would make every one of them unreadable.",
            hint="Set SECRETS_KMS_KEY (infra/terraform/kms.tf) or SECRETS_KEYSET "
            "(docs/operations/secrets.md).",
            id="accounts.W001",
        )
    ]
