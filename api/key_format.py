"""What a key looks like, "ka_<prefix>_<random>", and how it is kept (hashed)."""

import hashlib

KEY_PREFIX = "ka_"


def secret_hash(secret: str) -> str:
    """SHA-256, not a slow password hash: the secret holds 256 random bits, nothing to guess."""
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(secret: str) -> str | None:
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    return secret[len(KEY_PREFIX) :].split("_", 1)[0] or None
