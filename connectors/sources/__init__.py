"""What every source implements, and the outcomes a sync acts on.

A source lists its items (every current one, or what changed since a checkpoint), and
fetches one item's bytes and metadata. It raises `RateLimited` when the service asks it to
slow down (the sync waits out Retry-After in the queue, not in a worker), `SourceUnavailable`
when nothing can be synced now (the sync stops and says why; `SourceReconnect` when the
consent it was connected with was revoked or expired: it waits for a Reconnect), and
`ItemUnreadable` when only one item cannot be read (that item fails with the reason; the
rest go on).

A source that has permissions says who may read each item (`Readers`, on `Fetched` and
`Unchanged`); a connector that mirrors them stores them on the item's document, and the
access policy reads the document only for those readers (workspaces/access.py). A source
that also implements `PermissionSource` is asked for readers alone by the permission-only
sync, which fetches no content, and for the members of its groups."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class RateLimited(Exception):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"rate limited, retry after {retry_after}")
        self.retry_after = retry_after


class SourceUnavailable(Exception):
    """The sentence says why, for the person who set the source up."""


class SourceReconnect(SourceUnavailable):
    """The person's consent the source was connected with no longer holds (revoked,
    expired, the password changed): nothing syncs until someone connects it again."""


class ItemUnreadable(Exception):
    """The sentence says why this one item was not synced."""


class ConsentRefused(Exception):
    """A provider did not grant access on a person's consent (the code exchange refused,
    no refresh token); the sentence says why."""


@dataclass(frozen=True)
class ConsentGrant:
    """What a person's consent gave: the credentials to keep (a refresh token, and what
    the provider needs beside it), and the account that consented (its address, for the
    page; may be empty)."""

    credentials: dict[str, str]
    account: str = ""


@dataclass(frozen=True)
class BrowsedFolder:
    """A folder the consented account sees, on the page that picks what to sync: `open`
    the query that lists its folders, `choice` the selection fields picking it fills."""

    name: str
    open: dict[str, str]
    choice: dict[str, str]


@dataclass(frozen=True)
class FolderListing:
    """One level of the picker: where it is (`here`, "" at the top), the query for the
    level above (`up`), the choice of this folder itself (`choice`), its folders, and
    whether there were more than are shown (`truncated`)."""

    here: str
    up: dict[str, str] | None
    choice: dict[str, str] | None
    folders: list[BrowsedFolder]
    truncated: bool = False


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
    finishes, so a sync that stops reads the same changes again).

    A delta listing may also name every item the source has now (`present`), for a source
    whose changes leave out deletions (a search by modified time): an item the connector
    has that is not present is deleted, and one present that it does not have yet (say, a
    page moved into the selection with an old modified time) is fetched."""

    items: list[ItemRef]
    complete: bool
    delta: bool = False
    removed: list[str] = field(default_factory=list)
    cursor: str = ""
    present: list[ItemRef] | None = None


@dataclass(frozen=True)
class Readers:
    """Who may read an item at its source; anyone who matches one of these may (and only
    they, beside the workspace's own grant). `public`: anyone at all (a page on the open
    web, a file shared with anyone who has the link): no restriction. `emails`: people, by
    address. `groups`: the source's groups, by their id at the source (a Google group's
    address), whose members `PermissionSource.group_members` gives. `domains`: anyone whose
    address is in one of these domains ("anyone at example.com")."""

    public: bool = False
    emails: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()


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
    # Who may read it at the source; None: the source has no permissions (a website's
    # public pages): the document is governed by the workspace's grants alone.
    readers: Readers | None = None


@dataclass(frozen=True)
class Unchanged:
    """The source says the item has not changed since the validators we sent (`readers`:
    as on Fetched, when the source read them on the way; None: as they were)."""

    readers: Readers | None = None


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


@dataclass(frozen=True)
class ReadersListing:
    """A permission-only read: the current readers of items, by source id. With a cursor,
    only the items whose permissions changed since it (the others are as they were);
    without one, every item asked about that is still there. `cursor`: where the next
    permission-only read starts."""

    readers: dict[str, Readers]
    cursor: str = ""


@runtime_checkable
class PermissionSource(Protocol):
    """A source whose permissions a connector may mirror."""

    def readers(self, items: Sequence[ItemRef], *, cursor: str) -> ReadersListing:
        """The readers of `items` (those the connector holds documents for), without
        fetching any content; with `cursor` (from the last ReadersListing), only those
        whose permissions changed since."""
        ...

    def group_members(self, group: str) -> list[str] | None:
        """The email addresses of a group's members at the source (nested groups
        flattened); None when the source will not say (the group then lets nobody in)."""
        ...
