"""What an organization holds, counted by the apps that hold it.

Billing lives in the public schema and must not import the organizations' own apps (the
import-linter contracts in pyproject.toml), so each of those apps registers a counter for
its meters when it is ready; billing calls them inside the organization's schema.
"""

from collections.abc import Callable

UsageCounter = Callable[[], int]

_counters: dict[str, UsageCounter] = {}


def usage_counter_register(*, meter: str, counter: UsageCounter) -> None:
    _counters[meter] = counter


def usage_count(*, meter: str) -> int:
    """The current schema's holding for `meter` (documents, storage, members, workspaces)."""
    try:
        counter = _counters[meter]
    except KeyError:
        raise ValueError(f"no counter registered for meter {meter!r}") from None
    return counter()
