"""Bot tokens at rest: Fernet under SLACK_TOKEN_KEYS through accounts.secrets_at_rest (the
first key encrypts while every one decrypts, so a key is rotated by putting a new one
first). Without keys configured, one is derived from DJANGO_SECRET_KEY (development)."""

from django.conf import settings

from accounts.secrets_at_rest import secret_decrypt, secret_encrypt

# The purpose names the derived development key; kept as it was so that tokens stored
# before the vault moved to accounts still decrypt.
PURPOSE = "slack-token-vault"


def token_encrypt(token: str) -> str:
    return secret_encrypt(token, keys=settings.SLACK_TOKEN_KEYS, purpose=PURPOSE)


def token_decrypt(encrypted: str) -> str:
    return secret_decrypt(encrypted, keys=settings.SLACK_TOKEN_KEYS, purpose=PURPOSE)
