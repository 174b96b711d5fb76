"""A version per workspace that moves on with every change to what it holds.

Answers cached for a repeated question (assistant.answer_cache) are keyed by the versions of
the workspaces searched, so any upload, replacement, rename, indexing, failure or deletion
in the scope makes the cached answers for it unreachable. A counter rather than
max(updated_at): several writes (a status set by `update()`, a delete) leave no timestamp.
"""

from collections.abc import Iterable

from django.db.models import F

from workspaces.models import Workspace


def index_version_bump(*, workspace_ids: Iterable[int]) -> None:
    ids = sorted(set(workspace_ids))  # in id order: two bumps cannot deadlock
    if ids:
        Workspace.objects.filter(pk__in=ids).update(index_version=F("index_version") + 1)


def index_versions(*, workspace_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(workspace id, version) for each workspace that still exists, in id order."""
    return list(
        Workspace.objects.filter(pk__in=list(workspace_ids))
        .order_by("pk")
        .values_list("pk", "index_version")
    )
