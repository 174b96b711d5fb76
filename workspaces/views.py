from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from assistant.selectors import chunk_list
from billing.caps import CapReached
from members.selectors import invitation_pending_list, member_list
from saas.http import MemberRequest
from workspaces.forms import (
    GrantForm,
    ReplaceForm,
    TextEntryForm,
    WorkspaceForm,
    WorkspaceSettingsForm,
)
from workspaces.models import Document, Workspace, WorkspaceGrant
from workspaces.selectors import (
    ORGANIZATION_MANAGERS,
    document_get_readable,
    document_list,
    workspace_get_readable,
    workspace_grants,
    workspace_list_readable,
    workspace_role,
)
from workspaces.services import (
    WorkspaceError,
    document_create_from_text,
    document_delete,
    document_replace,
    document_retry,
    document_upload,
    grant_remove,
    grant_set,
    workspace_create,
    workspace_update,
)


def _workspace(request: MemberRequest, slug: str) -> Workspace:
    # 404, not 403, for a workspace the user may not read: its name must not leak.
    workspace = workspace_get_readable(user=request.user, slug=slug)
    if workspace is None:
        raise Http404
    return workspace


def _document(request: MemberRequest, workspace: Workspace, document_id: int) -> Document:
    document = document_get_readable(
        user=request.user, workspace=workspace, document_id=document_id
    )
    if document is None:
        raise Http404
    return document


@login_required
def dashboard(request: MemberRequest) -> HttpResponse:
    context = {
        "workspaces": workspace_list_readable(user=request.user),
        "member_count": member_list().count(),
        "pending_invitations": invitation_pending_list().count(),
        "can_create": request.user.role in ORGANIZATION_MANAGERS,
    }
    return render(request, "workspaces/dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_new(request: MemberRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    cap_reached = None
    if request.method == "POST" and form.is_valid():
        try:
            workspace = workspace_create(actor=request.user, **form.cleaned_data)
        except WorkspaceError as refusal:
            form.add_error(None, str(refusal))
        except CapReached as refusal:
            cap_reached = refusal.for_user(request.user)
        else:
            return redirect("workspace", slug=workspace.slug)
    context = {"form": form, "cap_reached": cap_reached}
    return render(request, "workspaces/workspace_new.html", context)


def _workspace_page(
    request: MemberRequest, workspace: Workspace, *, template: str = "workspaces/workspace.html",
    **extra: object,
) -> HttpResponse:  # fmt: skip
    query = request.GET.get("q", "").strip()
    role = workspace_role(user=request.user, workspace=workspace)
    context = {
        "workspace": workspace,
        "documents": document_list(user=request.user, workspace=workspace, query=query),
        "query": query,
        "role": role,
        "can_edit": role in ("editor", "manager"),
        "can_manage": role == "manager",
        "text_form": TextEntryForm(),
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // 1_048_576,
        **extra,
    }
    return render(request, template, context)


@login_required
@require_GET
def workspace(request: MemberRequest, slug: str) -> HttpResponse:
    workspace = _workspace(request, slug)
    template = (
        "workspaces/workspace.html#documents" if request.htmx else "workspaces/workspace.html"
    )
    return _workspace_page(request, workspace, template=template)


@login_required
@require_POST
def document_upload_view(request: MemberRequest, slug: str) -> HttpResponse:
    workspace = _workspace(request, slug)
    uploads = request.FILES.getlist("files")
    refusals = [] if uploads else ["Choose one or more files first."]
    cap_reached = None
    for upload in uploads:
        try:
            document_upload(actor=request.user, workspace=workspace, upload=upload)
        except WorkspaceError as refusal:
            refusals.append(str(refusal))
        except CapReached as refusal:
            cap_reached = refusal.for_user(request.user)
            break
    return _workspace_page(
        request, workspace, template="workspaces/workspace.html#documents", refusals=refusals,
        cap_reached=cap_reached,
    )  # fmt: skip


@login_required
@require_POST
def document_text_view(request: MemberRequest, slug: str) -> HttpResponse:
    workspace = _workspace(request, slug)
    form = TextEntryForm(request.POST)
    refusals: list[str] = []
    cap_reached = None
    if form.is_valid():
        try:
            document_create_from_text(actor=request.user, workspace=workspace, **form.cleaned_data)
        except WorkspaceError as refusal:
            refusals.append(str(refusal))
        except CapReached as refusal:
            cap_reached = refusal.for_user(request.user)
    else:
        refusals.append("Give the entry a title and some text.")
    return _workspace_page(
        request, workspace, template="workspaces/workspace.html#documents", refusals=refusals,
        cap_reached=cap_reached,
    )  # fmt: skip


@login_required
@require_GET
def document_row(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    """Polled by a row while its document is processing; the finished row stops polling."""
    workspace = _workspace(request, slug)
    document = _document(request, workspace, document_id)
    role = workspace_role(user=request.user, workspace=workspace)
    context = {
        "workspace": workspace,
        "document": document,
        "can_edit": role in ("editor", "manager"),
    }
    return render(request, "workspaces/workspace.html#document-row", context)


@login_required
@require_GET
def document_detail(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    workspace = _workspace(request, slug)
    document = _document(request, workspace, document_id)
    role = workspace_role(user=request.user, workspace=workspace)
    context = {
        "workspace": workspace,
        "document": document,
        "chunks": chunk_list(document=document),
        "can_edit": role in ("editor", "manager"),
        "replace_form": ReplaceForm(),
    }
    return render(request, "workspaces/document.html", context)


@login_required
@require_GET
def document_download(request: MemberRequest, slug: str, document_id: int) -> FileResponse:
    document = _document(request, _workspace(request, slug), document_id)
    return FileResponse(
        document.file.open("rb"), as_attachment=True, filename=document.original_name
    )


@login_required
@require_POST
def document_action(
    request: MemberRequest, slug: str, document_id: int, action: str
) -> HttpResponse:
    workspace = _workspace(request, slug)
    document = _document(request, workspace, document_id)
    try:
        if action == "retry":
            document_retry(actor=request.user, document=document)
        elif action == "delete":
            document_delete(actor=request.user, document=document)
            messages.success(request, f"“{document.title}” was deleted.")
            return HttpResponseClientRedirect(f"/w/{workspace.slug}/")
        elif action == "replace":
            form = ReplaceForm(request.POST, request.FILES)
            if not form.is_valid():
                raise WorkspaceError("Choose the new version's file.")
            document_replace(
                actor=request.user, document=document, upload=form.cleaned_data["file"]
            )
            messages.success(request, "New version uploaded; it replaces the old one once indexed.")
        else:
            raise Http404
    except WorkspaceError as refusal:
        messages.error(request, str(refusal))
    except CapReached as refusal:
        messages.error(request, refusal.message_for(request.user))
    return HttpResponseClientRedirect(f"/w/{workspace.slug}/documents/{document.pk}/")


@login_required
@require_http_methods(["GET", "POST"])
def workspace_access(request: MemberRequest, slug: str) -> HttpResponse:
    workspace = _workspace(request, slug)
    if workspace_role(user=request.user, workspace=workspace) != "manager":
        raise Http404
    settings_form = WorkspaceSettingsForm(
        request.POST if "save_settings" in request.POST else None,
        initial={
            "name": workspace.name,
            "description": workspace.description,
            "is_open": workspace.is_open,
        },
    )
    grant_form = GrantForm(request.POST if "add_grant" in request.POST else None)
    try:
        if settings_form.is_bound and settings_form.is_valid():
            workspace_update(actor=request.user, workspace=workspace, **settings_form.cleaned_data)
            messages.success(request, "Saved.")
        if grant_form.is_bound and grant_form.is_valid():
            principal = grant_form.cleaned_data["principal"].strip()
            user = User.objects.filter(email__iexact=principal, is_active=True).first()
            group = None if user else Group.objects.filter(name__iexact=principal).first()
            if user is None and group is None:
                raise WorkspaceError(f"No member or group called “{principal}”.")
            grant_set(
                actor=request.user,
                workspace=workspace,
                role=grant_form.cleaned_data["role"],
                user=user,
                group=group,
            )
            messages.success(request, f"{principal} is now {grant_form.cleaned_data['role']}.")
            grant_form = GrantForm()
        if "remove_grant" in request.POST:
            grant = WorkspaceGrant.objects.filter(
                workspace=workspace, pk=request.POST["remove_grant"]
            ).first()
            if grant is not None:
                grant_remove(actor=request.user, grant=grant)
    except WorkspaceError as refusal:
        messages.error(request, str(refusal))
    context = {
        "workspace": workspace,
        "settings_form": settings_form,
        "grant_form": grant_form,
        "grants": workspace_grants(workspace=workspace),
        "groups": Group.objects.order_by("name"),
    }
    return render(request, "workspaces/access.html", context)
