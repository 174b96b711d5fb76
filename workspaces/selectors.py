"""Reads of workspaces and documents. Every one of them goes through
`workspace_readable_ids`, the single answer to "which workspaces may this user read",
applied inside SQL as a subquery."""

from django.db.models import Count, Q, QuerySet

from accounts.models import Role, User
from workspaces.models import (
    ROLE_RANK,
    Document,
    Workspace,
    WorkspaceGrant,
    WorkspaceRole,
)

ORGANIZATION_MANAGERS = (Role.OWNER, Role.ADMIN)


def workspace_readable_ids(*, user: User) -> QuerySet[Workspace, int]:
    workspaces = Workspace.objects.all()
    if user.role not in ORGANIZATION_MANAGERS:
        workspaces = workspaces.filter(
            Q(is_open=True) | Q(grants__user=user) | Q(grants__group__user=user)
        )
    return workspaces.values_list("id", flat=True).distinct()


def workspace_role(*, user: User, workspace: Workspace) -> str | None:
    """The user's effective role on the workspace, or None when they may not read it."""
    if user.role in ORGANIZATION_MANAGERS:
        return WorkspaceRole.MANAGER
    roles = list(
        WorkspaceGrant.objects.filter(workspace=workspace)
        .filter(Q(user=user) | Q(group__user=user))
        .values_list("role", flat=True)
    )
    if workspace.is_open:
        roles.append(WorkspaceRole.VIEWER)
    return max(roles, key=lambda role: ROLE_RANK[WorkspaceRole(role)], default=None)


def workspace_role_at_least(*, user: User, workspace: Workspace, role: str) -> bool:
    actual = workspace_role(user=user, workspace=workspace)
    return actual is not None and ROLE_RANK[WorkspaceRole(actual)] >= ROLE_RANK[WorkspaceRole(role)]


def workspace_list_readable(*, user: User) -> QuerySet[Workspace]:
    return (
        Workspace.objects.filter(id__in=workspace_readable_ids(user=user))
        .annotate(document_count=Count("documents"))
        .order_by("name")
    )


def workspace_get_readable(*, user: User, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug, id__in=workspace_readable_ids(user=user)).first()


def document_list(*, user: User, workspace: Workspace, query: str = "") -> QuerySet[Document]:
    documents = Document.objects.filter(
        workspace=workspace, workspace_id__in=workspace_readable_ids(user=user)
    ).select_related("uploaded_by")
    if query:
        documents = documents.filter(Q(title__icontains=query) | Q(original_name__icontains=query))
    return documents


def document_get_readable(*, user: User, workspace: Workspace, document_id: int) -> Document | None:
    return (
        Document.objects.filter(
            pk=document_id, workspace=workspace, workspace_id__in=workspace_readable_ids(user=user)
        )
        .select_related("workspace", "uploaded_by")
        .first()
    )


def workspace_grants(*, workspace: Workspace) -> QuerySet[WorkspaceGrant]:
    return workspace.grants.select_related("user", "group").order_by("group__name", "user__email")
