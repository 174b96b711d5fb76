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

Documents: a document is read where its workspace is read AND, when it carries its source's
readers (`Document.readers_restricted`, set by a connector that mirrors the source's
permissions), those readers let the person in: their address is one of the reader emails,
their address's domain one of the reader domains, or they are a member of one of the reader
groups (`SourceGroup`, members as the source last said). This holds for everyone, owners and
admins included: the source's word on a file is not overruled by a role here. An API key's
service account has no address at any source: it reads only documents without readers. A
document without readers (an upload, a public page) is governed by the workspace alone.
Every read of documents and passages goes through `documents_readable` /
`document_ids_readable` (ORM) or, for the retrieval SQL, `document_ids_withheld`.
"""

from collections.abc import Iterable

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import ORGANIZATION_MANAGERS, Role, User
from workspaces.models import Document, SourceGroup, Workspace, WorkspaceGrant, WorkspaceRole

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


def readers_allow(*, user: User, prefix: str = "", shared: bool = False) -> Q:
    """The readers half of the policy, on documents (`prefix`: the path to a document from
    the model queried, e.g. "document__"): documents without readers, and those whose
    readers name `user`. `shared`: what is read is shown to an audience beyond `user` (an
    answer posted in a Slack channel), nobody in particular: documents without readers
    only."""
    allowed = Q(**{f"{prefix}readers_restricted": False})
    email = user.email.strip().lower()
    if shared or user.is_service_account or "@" not in email:
        return allowed
    domain = email.rpartition("@")[2]
    groups = SourceGroup.objects.filter(members__contains=[email]).values("key")
    return (
        allowed
        | Q(**{f"{prefix}reader_emails__contains": [email]})
        | Q(**{f"{prefix}reader_domains__contains": [domain]})
        | Q(**{f"{prefix}reader_groups__overlap": ArraySubquery(groups)})
    )


def documents_readable(
    *, user: User, within: Iterable[int] | None = None, shared: bool = False
) -> QuerySet[Document]:
    """The documents `user` may read (in the workspaces `within`, if given): the workspace
    grant and the document's readers, in one query (`shared`: see readers_allow)."""
    return Document.objects.filter(
        readers_allow(user=user, shared=shared),
        workspace_id__in=workspace_ids_readable(user=user, within=within),
    )


def document_ids_readable(
    *, user: User, within: Iterable[int] | None = None, shared: bool = False
) -> QuerySet[Document, int]:
    """documents_readable's ids, as a subquery (`document_id__in=...`)."""
    return documents_readable(user=user, within=within, shared=shared).values_list("id", flat=True)


def document_ids_withheld(
    *, user: User, workspace_ids: Iterable[int] | None = None, shared: bool = False
) -> QuerySet[Document, int]:
    """The documents of the workspaces `workspace_ids` (None: all) that `user` may not read
    for their readers alone: what a read of those workspaces' passages leaves out (the
    retrieval SQL, citations of answers). Few or none in most organizations; found through
    the partial index on restricted documents."""
    restricted = Document.objects.filter(readers_restricted=True)
    if workspace_ids is not None:
        restricted = restricted.filter(workspace_id__in=list(workspace_ids))
    return restricted.exclude(readers_allow(user=user, shared=shared)).values_list("id", flat=True)


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


def sources_manageable(*, user: User, workspace: Workspace | None = None) -> bool:
    """Connecting a source to a workspace (its credentials reach outside the organization,
    and what it syncs is added in the name of whoever connected it), running, pausing and
    removing one: owners and admins. An API key's service account, on a workspace it may
    edit: only an owner or admin makes a key, the API lets one in here only with its
    "sources" scope, and the key is revoked when its maker loses the right."""
    if not user.is_active:
        return False
    if user.role in ORGANIZATION_MANAGERS:
        return True
    return (
        user.is_service_account
        and workspace is not None
        and workspace_allows(user=user, workspace=workspace, needed=WorkspaceRole.EDITOR)
    )


def source_mirroring_liftable(*, user: User) -> bool:
    """Turning a source's permission mirroring off (every reader of the workspace then reads
    what the source restricts to some): owners and admins, never an API key's service
    account, which reads no restricted document and must not lift the restriction to."""
    return user.is_active and user.role in ORGANIZATION_MANAGERS and not user.is_service_account
