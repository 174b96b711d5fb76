"""What a key looks like, "ka_<prefix>_<random>", and how it is kept (hashed)."""

from members.tokens import prefix_of as _prefix_of
from members.tokens import secret_hash

KEY_PREFIX = "ka_"

__all__ = ["KEY_PREFIX", "prefix_of", "secret_hash"]


def prefix_of(secret: str) -> str | None:
    return _prefix_of(secret, kind=KEY_PREFIX)
