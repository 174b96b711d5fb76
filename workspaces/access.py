"""The access policy: which workspaces a person may read, edit or manage.

Every path that shows or changes knowledge asks these functions: pages, documents,
downloads, chunks, retrieval, answers, citations, the passage viewer, feedback review and
knowledge gaps. They return subqueries of workspace ids, so callers apply the answer inside
SQL (`workspace_id__in=...`) instead of dropping rows afterwards; a workspace one may not
read is a 404 to the caller, never a 403, so its name does not leak.

The rules, in one place:
- owners and admins of the organization manage every workspace;
- otherwise a person has the highest level granted to them, directly or through one of
  their groups, and an open workspace gives every member at least viewer;
- an API key's service account (`User.is_service_account`) is not a member: it holds only
  the grants given to it, open workspaces included;
- levels are ordered: viewer < editor < manager, and a level includes those below it.
"""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import ORGANIZATION_MANAGERS, Role, User
from workspaces.models import Workspace, WorkspaceGrant, WorkspaceRole

LEVEL_RANK = {WorkspaceRole.VIEWER: 1, WorkspaceRole.EDITOR: 2, WorkspaceRole.MANAGER: 3}


def level_allows(level: WorkspaceRole | None, needed: WorkspaceRole) -> bool:
    """Whether holding `level` (None: no access) is enough for what needs `needed`."""
    return level is not None and LEVEL_RANK[level] >= LEVEL_RANK[needed]


def _workspace_ids_at_level(
    *, user: User, needed: WorkspaceRole, within: Iterable[int] | None
) -> QuerySet[Workspace, int]:
    workspaces = Workspace.objects.all()
    if within is not None:
        workspaces = workspaces.filter(id__in=list(within))
    if not user.is_active:
        return workspaces.none().values_list("id", flat=True)
    if user.role not in ORGANIZATION_MANAGERS:
        levels = [level for level in WorkspaceRole if level_allows(level, needed)]
        granted = WorkspaceGrant.objects.filter(workspace=OuterRef("pk"), role__in=levels).filter(
            Q(user=user) | Q(group__user=user)
        )
        allowed = Q(Exists(granted))
        if needed == WorkspaceRole.VIEWER and not user.is_service_account:
            allowed |= Q(is_open=True)
        workspaces = workspaces.filter(allowed)
    return workspaces.values_list("id", flat=True)


def workspace_ids_readable(
    *, user: User, within: Iterable[int] | None = None
) -> QuerySet[Workspace, int]:
    """The workspaces `user` may read, optionally only among `within` (a chosen scope)."""
    return _workspace_ids_at_level(user=user, needed=WorkspaceRole.VIEWER, within=within)


def workspace_ids_editable(
    *, user: User, within: Iterable[int] | None = None
) -> QuerySet[Workspace, int]:
    """The workspaces whose documents `user` may add, replace, retry and delete."""
    return _workspace_ids_at_level(user=user, needed=WorkspaceRole.EDITOR, within=within)


def workspace_ids_manageable(
    *, user: User, within: Iterable[int] | None = None
) -> QuerySet[Workspace, int]:
    """The workspaces whose settings and grants `user` may change, and whose answers'
    feedback and knowledge gaps they review."""
    return _workspace_ids_at_level(user=user, needed=WorkspaceRole.MANAGER, within=within)


def workspace_level(*, user: User, workspace: Workspace) -> WorkspaceRole | None:
    """The user's level on one workspace (what the page offers them), None when they may
    not read it. One query for the three levels: the document rows of a page being
    processed ask it every second."""
    ordered = (WorkspaceRole.MANAGER, WorkspaceRole.EDITOR, WorkspaceRole.VIEWER)
    held = Workspace.objects.filter(pk=workspace.pk).values_list(
        *(
            Exists(_workspace_ids_at_level(user=user, needed=level, within=[workspace.pk]))
            for level in ordered
        )
    )
    flags = held.first() or (False,) * len(ordered)
    return next((level for level, has in zip(ordered, flags, strict=True) if has), None)


def workspace_allows(*, user: User, workspace: Workspace, needed: WorkspaceRole) -> bool:
    return _workspace_ids_at_level(user=user, needed=needed, within=[workspace.pk]).exists()


def workspaces_creatable_by(*, user: User) -> bool:
    """Creating a workspace is an organization-level act: owners and admins."""
    return user.is_active and user.role in ORGANIZATION_MANAGERS


def organization_data_manageable(*, user: User) -> bool:
    """Taking all of the organization's data out, setting how long conversations are kept,
    erasing a former member and deleting the organization: owners only. An admin manages
    every workspace but may neither carry everything away nor end the organization."""
    return user.is_active and user.role == Role.OWNER


def sources_manageable(*, user: User) -> bool:
    """Connecting a source to a workspace (its credentials reach outside the organization,
    and what it syncs is added in the name of whoever connected it), running, pausing and
    removing one: owners and admins."""
    return user.is_active and user.role in ORGANIZATION_MANAGERS
