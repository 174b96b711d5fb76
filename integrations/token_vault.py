"""Bot tokens at rest: envelope-encrypted through accounts.secrets_at_rest (Tink; the Cloud
KMS key in production), bound to this purpose. Tokens stored before were Fernet tokens under
SLACK_TOKEN_KEYS: they still open, and `manage.py secrets_rotate` re-encrypts them."""

from accounts.secrets_at_rest import secret_open, secret_seal

# The purpose is the associated data of every token (a ciphertext of another column does not
# open as a token) and named the derived development key of the Fernet tokens of before.
PURPOSE = "slack-token-vault"


def token_encrypt(token: str) -> str:
    return secret_seal(token, purpose=PURPOSE)


def token_decrypt(encrypted: str) -> str:
    return secret_open(encrypted, purpose=PURPOSE)
