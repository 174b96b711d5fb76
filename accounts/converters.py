"""Path converters for every app's urls.py."""


class IdConverter:
    """A database id: digits, at most 18 of them, so that any match fits a bigint column
    and a longer number is a plain 404 instead of an out-of-range query."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
