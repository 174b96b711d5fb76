"""A document's readers at its source, and the source's groups: written by whatever syncs
the document from a source (connectors/), read by the access policy (workspaces.access).

Readers are stored as the policy matches them: lower-case addresses and domains, and group
keys that name the source ("google_drive:team@example.com"), so that two sources' groups of
one name stay apart. A change moves the workspace's index version on, so no answer cached
under the old readers is served again."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from workspaces.index_version import index_version_bump
from workspaces.models import Document, SourceGroup


@dataclass(frozen=True)
class DocumentReaders:
    """Who may read a document besides the workspace's grants requiring it; `restricted`
    False: anyone the workspace lets in (an upload, a public page)."""

    restricted: bool
    emails: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    domains: frozenset[str] = field(default_factory=frozenset)


UNRESTRICTED = DocumentReaders(restricted=False)
# Restricted to nobody: a document whose source has not said yet who reads it (fail closed).
NOBODY = DocumentReaders(restricted=True)


def _lowered(values: Iterable[str]) -> list[str]:
    return sorted({value.strip().lower() for value in values if value and value.strip()})


@transaction.atomic
def document_readers_set(*, document: Document, readers: DocumentReaders) -> bool:
    """Give the document these readers; returns whether they changed."""
    emails, domains = _lowered(readers.emails), _lowered(readers.domains)
    groups = sorted({group for group in readers.groups if group})
    if not readers.restricted:
        emails, groups, domains = [], [], []
    current = Document.objects.select_for_update().filter(pk=document.pk)
    before = current.values_list(
        "readers_restricted", "reader_emails", "reader_groups", "reader_domains"
    ).first()
    after = (readers.restricted, emails, groups, domains)
    if before is None or tuple(before) == after:
        return False
    current.update(
        readers_restricted=readers.restricted, reader_emails=emails, reader_groups=groups,
        reader_domains=domains,
    )  # fmt: skip
    document.readers_restricted, document.reader_emails = readers.restricted, emails
    document.reader_groups, document.reader_domains = groups, domains
    index_version_bump(workspace_ids=[document.workspace_id])
    return True


@transaction.atomic
def documents_readers_reset(*, document_ids: Iterable[int], readers: DocumentReaders) -> int:
    """Give many documents the same readers at once (a source whose permissions are
    mirrored from now on: nobody until they are read; no longer mirrored: no readers).
    Returns how many changed."""
    ids = sorted(set(document_ids))
    emails, domains = _lowered(readers.emails), _lowered(readers.domains)
    groups = sorted({group for group in readers.groups if group})
    if not readers.restricted:
        emails, groups, domains = [], [], []
    changing = (
        Document.objects.filter(pk__in=ids)
        .exclude(
            readers_restricted=readers.restricted, reader_emails=emails, reader_groups=groups,
            reader_domains=domains,
        )
        .order_by("pk")
    )  # fmt: skip
    workspace_ids = set(changing.values_list("workspace_id", flat=True))
    changed = Document.objects.filter(pk__in=changing.values("pk")).update(
        readers_restricted=readers.restricted, reader_emails=emails, reader_groups=groups,
        reader_domains=domains,
    )  # fmt: skip
    index_version_bump(workspace_ids=workspace_ids)
    return changed


def source_groups_named(*, prefix: str, document_ids: Iterable[int]) -> list[str]:
    """The group keys starting with `prefix` that these documents' readers name."""
    named = Document.objects.filter(pk__in=list(document_ids)).values_list(
        "reader_groups", flat=True
    )
    return sorted({key for keys in named for key in keys if key.startswith(prefix)})


@transaction.atomic
def source_group_members_set(*, key: str, members: Iterable[str]) -> bool:
    """The group's members as its source now says; returns whether they changed. A change
    moves on the index version of every workspace holding a document that names it."""
    wanted = _lowered(members)
    group, created = SourceGroup.objects.select_for_update().get_or_create(
        key=key, defaults={"members": wanted}
    )
    if not created and sorted(group.members) == wanted:
        return False
    group.members = wanted
    group.save(update_fields=["members", "synced_at"])
    workspace_ids = Document.objects.filter(reader_groups__contains=[key]).values_list(
        "workspace_id", flat=True
    )
    index_version_bump(workspace_ids=set(workspace_ids))
    return True
