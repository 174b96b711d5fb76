"""How bearer secrets are kept: only their SHA-256 (SCIM tokens here, API keys in api)."""

import hashlib

SCIM_TOKEN_PREFIX = "scim_"  # noqa: S105 (what a token starts with, not a secret)


def secret_hash(secret: str) -> str:
    """SHA-256, not a slow password hash: the secret holds 256 random bits, nothing to guess."""
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str, *, kind: str) -> str | None:
    """The prefix of a secret shaped "<kind><prefix>_<random>", by which its row is found."""
    if not secret.startswith(kind) or len(secret) > 200:
        return None
    return secret[len(kind) :].split("_", 1)[0] or None
