"""What every source implements, and the outcomes a sync acts on.

A source lists its items (every current one, or what changed since a checkpoint), and
fetches one item's bytes and metadata. It raises `RateLimited` when the service asks it to
slow down (the sync waits out Retry-After in the queue, not in a worker), `SourceUnavailable`
when nothing can be synced now (the sync stops and says why), and `ItemUnreadable` when only
one item cannot be read (that item fails with the reason; the rest go on)."""

from dataclasses import dataclass, field
from typing import Protocol


class RateLimited(Exception):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"rate limited, retry after {retry_after}")
        self.retry_after = retry_after


class SourceUnavailable(Exception):
    """The sentence says why, for the person who set the source up."""


class ItemUnreadable(Exception):
    """The sentence says why this one item was not synced."""


@dataclass(frozen=True)
class ItemRef:
    source_id: str
    url: str


@dataclass(frozen=True)
class Listing:
    """The items of the source now. `complete`: every current item is in it (or will be,
    through the links of the items in it), so an item not seen by the end of the sync is
    gone at the source and may be pruned.

    A delta listing (`delta`) holds only what changed since the connector's cursor: the
    items in it are fetched, those in `removed` deleted, and every other item is as the
    last sync left it. `cursor` is where the next sync's delta starts (kept once this sync
    finishes, so a sync that stops reads the same changes again)."""

    items: list[ItemRef]
    complete: bool
    delta: bool = False
    removed: list[str] = field(default_factory=list)
    cursor: str = ""


@dataclass(frozen=True)
class Fetched:
    """One item's content, as a file the knowledge base reads, and its metadata."""

    data: bytes
    filename: str
    title: str
    url: str
    etag: str = ""
    last_modified: str = ""
    links: list[ItemRef] = field(default_factory=list)


@dataclass(frozen=True)
class Unchanged:
    """The source says the item has not changed since the validators we sent."""


@dataclass(frozen=True)
class Gone:
    """The item is no longer at the source (or may no longer be read there)."""

    reason: str


class Source(Protocol):
    # Whether items lead to further items (a site's links): the listing is then learnt
    # while fetching, and an item that could not be read leaves it incomplete.
    follows_links: bool
    # How many items one sync reads at most (None: no limit); past it the listing is
    # incomplete and nothing is pruned.
    max_items: int | None

    def listing(self) -> Listing: ...

    def fetch(
        self, item: ItemRef, *, etag: str, last_modified: str
    ) -> Fetched | Unchanged | Gone: ...
