"""Pages of the knowledge base: parse the request, ask a selector or a service, render.
Who may see or do what is the access policy's answer (workspaces.access); anything one may
not read is a 404."""

import json
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.http import MemberRequest, form_refusal, service_call, service_call_flashed
from billing.caps import CapReached
from members.permissions import organization_manager_required
from members.selectors import group_list, invitation_pending_list, member_list
from workspaces.access import (
    level_allows,
    sources_manageable,
    workspace_allows,
    workspace_level,
    workspaces_creatable_by,
)
from workspaces.embedding.change import (
    ReembeddingError,
    reembedding_cancel,
    reembedding_retry,
    reembedding_start,
)
from workspaces.embedding.model import (
    embedding_index,
    embedding_model_label,
    embedding_models_offered,
)
from workspaces.forms import (
    DocumentSearchForm,
    DocumentTagsForm,
    EmbeddingModelForm,
    GrantForm,
    RenameForm,
    ReplaceForm,
    RetrievalTestForm,
    TextEntryForm,
    UploadTagsForm,
    WorkspaceForm,
    WorkspaceSettingsForm,
)
from workspaces.models import (
    Document,
    DocumentKind,
    EmbeddingIndex,
    Workspace,
    WorkspaceRole,
)
from workspaces.search.retrieval import MODES, RetrievalFilters, chunks_retrieve, query_lexemes
from workspaces.selectors import (
    DOCUMENT_ORDERS,
    chunk_list,
    chunk_total,
    document_earlier_version,
    document_get_readable,
    document_list_ordered,
    grant_get,
    grantee_find,
    results_split_at_floor,
    workspace_get_manageable,
    workspace_get_readable,
    workspace_grants,
    workspace_list_readable,
)
from workspaces.services import (
    WorkspaceError,
    document_create_from_text,
    document_delete,
    document_download_record,
    document_rename,
    document_replace,
    document_retry,
    document_supersede,
    document_tags_set,
    documents_delete,
    documents_tag,
    documents_upload,
    grant_remove,
    grant_set,
    workspace_create,
    workspace_update,
)
from workspaces.templatetags.documents_list import row_state


def _workspace(request: MemberRequest, slug: str) -> Workspace:
    workspace = workspace_get_readable(user=request.user, slug=slug)
    if workspace is None:
        raise Http404
    return workspace


def _workspace_managed(request: MemberRequest, slug: str) -> Workspace:
    workspace = workspace_get_manageable(user=request.user, slug=slug)
    if workspace is None:
        raise Http404
    return workspace


def _document(request: MemberRequest, slug: str, document_id: int) -> Document:
    workspace = _workspace(request, slug)
    document = document_get_readable(
        user=request.user, workspace=workspace, document_id=document_id
    )
    if document is None:
        raise Http404
    return document


def _abilities(request: MemberRequest, workspace: Workspace) -> dict[str, object]:
    level = workspace_level(user=request.user, workspace=workspace)
    return {
        "role": level,
        "can_edit": level_allows(level, WorkspaceRole.EDITOR),
        "can_manage": level_allows(level, WorkspaceRole.MANAGER),
        "can_manage_sources": sources_manageable(user=request.user),
    }


@login_required
@require_GET
def dashboard(request: MemberRequest) -> HttpResponse:
    context = {
        "workspaces": workspace_list_readable(user=request.user),
        "member_count": member_list().count(),
        "pending_invitations": invitation_pending_list().count(),
        "can_create": workspaces_creatable_by(user=request.user),
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
            return redirect("workspaces:detail", slug=workspace.slug)
    context = {"form": form, "cap_reached": cap_reached}
    return render(request, "workspaces/workspace_new.html", context)


SORT_COLUMNS = (
    ("title", "Document"), ("type", "Type"), ("status", "Status"), ("updated", "Updated"),
)  # fmt: skip


def _sort_headers(order: str) -> list[dict[str, str]]:
    """Each sortable column's label, the order its header link asks for (the current column
    flips direction) and its aria-sort."""
    headers = []
    for column, label in SORT_COLUMNS:
        current = order.removeprefix("-") == column
        descending = order.startswith("-")
        headers.append({
            "label": label,
            "column": column,
            "order": f"-{column}" if current and not descending else column,
            "aria_sort": ("descending" if descending else "ascending") if current else "none",
        })  # fmt: skip
    return headers


def _documents_section(
    request: MemberRequest, workspace: Workspace, *, template: str, **extra: object
) -> HttpResponse:
    # A post from the upload or entry form sends the list's order and search along with it
    # (hx-include), so that the list it answers with stays the one the person was looking at.
    shown = request.GET if request.method == "GET" or "sort" in request.GET else request.POST
    search = DocumentSearchForm({"q": shown.get("q", "")})
    query, status = "", 200
    if search.is_valid():
        query = search.cleaned_data["q"].strip()
    elif request.method == "GET":
        status = 400
        extra = {**extra, "refusals": [form_refusal(search)]}
    order = shown.get("sort", "title")
    if order.removeprefix("-") not in DOCUMENT_ORDERS:
        order = "title"
    documents = document_list_ordered(
        user=request.user, workspace=workspace, query=query, order=order
    )
    context = {
        "workspace": workspace,
        "documents": documents,
        "order": order,
        "sort_headers": _sort_headers(order),
        "query": query,
        "text_form": TextEntryForm(),
        # "Write an entry" on the knowledge-gap page: the unanswered question as the title.
        "entry_title": request.GET.get("entry", "").strip()[:300],
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // 1_048_576,
        **_abilities(request, workspace),
        **extra,
    }
    return render(request, template, context, status=status)


@login_required
@require_GET
def workspace_detail(request: MemberRequest, slug: str) -> HttpResponse:
    template = (
        "workspaces/workspace.html#documents" if request.htmx else "workspaces/workspace.html"
    )
    return _documents_section(request, _workspace(request, slug), template=template)


@login_required
@require_POST
def document_upload_view(request: MemberRequest, slug: str) -> HttpResponse:
    """Each file of the upload added, or named with the reason it was not."""
    workspace = _workspace(request, slug)
    uploads = request.FILES.getlist("files")
    tags_form = UploadTagsForm(request.POST)
    section: dict[str, object] = {"refusals": ["Choose one or more files first."]}
    if uploads and not tags_form.is_valid():
        section = {"refusals": [form_refusal(tags_form)]}
    elif uploads:
        outcome, refusal = service_call(
            lambda: documents_upload(
                actor=request.user, workspace=workspace, uploads=uploads,
                tags=tags_form.cleaned_data["tags"], paths=_folder_paths(request),
            ),
            refused=WorkspaceError,
        )  # fmt: skip
        if outcome is None:
            section = {"refusals": [refusal]}
        else:
            cap = outcome.cap.for_user(request.user) if outcome.cap else None
            section = {"upload": outcome, "chosen": len(uploads), "cap_reached": cap}
    return _documents_section(
        request, workspace, template="workspaces/workspace.html#documents", **section
    )


def _folder_paths(request: MemberRequest) -> list[str]:
    """The paths inside a folder of the uploaded files (static/js/upload.js sends them as a
    JSON list); none for files picked one by one, or for anything that is not such a list."""
    try:
        paths = json.loads(request.POST.get("paths") or "[]")
    except ValueError:
        return []
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        return []
    return [path[:1000] for path in paths]


@login_required
@require_POST
def document_text_view(request: MemberRequest, slug: str) -> HttpResponse:
    """A pasted entry. Only an entry taken empties the form (the `entry-added` event): one
    refused keeps what was typed, to send again once the reason is dealt with."""
    workspace = _workspace(request, slug)
    form = TextEntryForm(request.POST)
    refusals: list[str] = []
    cap_reached = None
    if not form.is_valid():
        refusals.append(
            form_refusal(form) if "tags" in form.errors else "Give the entry a title and some text."
        )
    else:
        try:
            document_create_from_text(actor=request.user, workspace=workspace, **form.cleaned_data)
        except WorkspaceError as refusal:
            refusals.append(str(refusal))
        except CapReached as refusal:
            cap_reached = refusal.for_user(request.user)
    response = _documents_section(
        request, workspace, template="workspaces/workspace.html#documents", refusals=refusals,
        cap_reached=cap_reached,
    )  # fmt: skip
    if not refusals and cap_reached is None:
        trigger_client_event(response, "entry-added")
    return response


@login_required
@require_POST
def documents_delete_view(request: MemberRequest, slug: str) -> HttpResponse:
    """The documents list's "Delete selected": the ticked rows, after one confirmation."""
    workspace = _workspace(request, slug)
    ids = [int(value) for value in request.POST.getlist("documents") if value.isdigit()]
    done, refusal = service_call(
        lambda: documents_delete(actor=request.user, workspace=workspace, document_ids=ids),
        refused=WorkspaceError,
    )
    refusals, deleted = [refusal] if refusal else [], done or []
    if not ids:
        refusals.append("Tick the documents to delete first.")
    return _documents_section(
        request, workspace, template="workspaces/workspace.html#documents", refusals=refusals,
        deleted=deleted,
    )  # fmt: skip


@login_required
@require_POST
def documents_tag_view(request: MemberRequest, slug: str) -> HttpResponse:
    """The documents list's "Add tags": the typed tags added to each ticked row."""
    workspace = _workspace(request, slug)
    ids = [int(value) for value in request.POST.getlist("documents") if value.isdigit()]
    form = DocumentTagsForm(request.POST)
    refusals: list[str] = []
    tagged: int | None = None
    if not ids:
        refusals.append("Tick the documents to tag first.")
    elif not form.is_valid():
        refusals.append(form_refusal(form))
    else:
        tagged, refusal = service_call(
            lambda: documents_tag(
                actor=request.user, workspace=workspace, document_ids=ids,
                tags=form.cleaned_data["tags"],
            ),
            refused=WorkspaceError,
        )  # fmt: skip
        refusals += [refusal] if refusal else []
    response = _documents_section(
        request, workspace, template="workspaces/workspace.html#documents", refusals=refusals,
        tagged=tagged,
    )  # fmt: skip
    if refusals:
        response.status_code = 400
    return response


@login_required
@require_POST
def document_tags_view(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    """The document page's tag editor (HTMX): the tags as typed replace the document's."""
    document = _document(request, slug, document_id)
    form = DocumentTagsForm(request.POST)
    if form.is_valid():
        _, refusal = service_call(
            lambda: document_tags_set(
                actor=request.user, document=document, tags=form.cleaned_data["tags"]
            ),
            refused=WorkspaceError,
        )
    else:
        refusal = form_refusal(form)
    context = {"workspace": document.workspace, "document": document, "tags_refusal": refusal}
    context |= _abilities(request, document.workspace)
    if refusal:
        context["tags_typed"] = request.POST.get("tags", "")[:1000]
    return render(request, "workspaces/document.html#tags", context, status=400 if refusal else 200)


@login_required
@require_GET
def document_row(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    """Polled by a row while its document is processing; the finished row stops polling."""
    document = _document(request, slug, document_id)
    response = _row(request, document)
    if request.GET.get("shown", row_state(document)) != row_state(document):
        # Its title, type, status or date changed: the list's order may have too.
        trigger_client_event(response, "documents-changed")
    return response


@login_required
@require_GET
def document_detail(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    document = _document(request, slug, document_id)
    context = {
        "workspace": document.workspace,
        "document": document,
        "chunks": chunk_list(user=request.user, document=document),
        "earlier_version": document_earlier_version(user=request.user, document=document),
        "replace_form": ReplaceForm(),
        "rename_form": RenameForm(initial={"title": document.title}),
        **_abilities(request, document.workspace),
    }
    return render(request, "workspaces/document.html", context)


@login_required
@require_GET
def document_download(request: MemberRequest, slug: str, document_id: int) -> FileResponse:
    document = _document(request, slug, document_id)
    document_download_record(actor=request.user, document=document)
    # A PDF opens in the browser's viewer (at the cited page, from the link's #page=N); the
    # sandbox keeps any script inside it from running as this site. Other kinds download.
    inline = document.kind == DocumentKind.PDF
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=not inline,
        filename=document.original_name,
        content_type="application/pdf" if inline else None,
    )
    if inline:
        response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _back_to_document(document: Document) -> HttpResponse:
    return HttpResponseClientRedirect(
        reverse("workspaces:document", args=[document.workspace.slug, document.pk])
    )


def _from_row(request: MemberRequest, document: Document) -> bool:
    """The documents list's row buttons target their own row; the document page's don't."""
    return bool(request.htmx) and request.htmx.target == f"document-{document.pk}"


def _row(request: MemberRequest, document: Document, **extra: object) -> HttpResponse:
    context = {"workspace": document.workspace, "document": document, **extra}
    context |= _abilities(request, document.workspace)
    return render(request, "workspaces/workspace.html#document-row", context)


@login_required
@require_POST
def document_retry_view(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    document = _document(request, slug, document_id)
    refusal = ""
    try:
        document_retry(actor=request.user, document=document)
    except WorkspaceError as error:
        refusal = str(error)
    except CapReached as error:
        refusal = error.message_for(request.user)
    if _from_row(request, document):
        return _row(request, document, row_error=refusal)
    if refusal:
        messages.error(request, refusal)
    return _back_to_document(document)


@login_required
@require_POST
def document_delete_view(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    document = _document(request, slug, document_id)
    from_row = _from_row(request, document)
    try:
        document_delete(actor=request.user, document=document)
    except WorkspaceError as refusal:
        if from_row:
            return _row(request, document, row_error=str(refusal))
        messages.error(request, str(refusal))
        return _back_to_document(document)
    if from_row:
        context = {"document_id": document_id, "title": document.title}
        return render(request, "workspaces/workspace.html#document-deleted", context)
    messages.success(request, f"“{document.title}” was deleted.")
    return HttpResponseClientRedirect(reverse("workspaces:detail", args=[slug]))


@login_required
@require_POST
def document_replace_view(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    document = _document(request, slug, document_id)
    form = ReplaceForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise WorkspaceError("Choose the new version's file.")
        document_replace(actor=request.user, document=document, upload=form.cleaned_data["file"])
        messages.success(request, "New version uploaded; it replaces the old one once indexed.")
    except WorkspaceError as refusal:
        messages.error(request, str(refusal))
    except CapReached as refusal:
        messages.error(request, refusal.message_for(request.user))
    return _back_to_document(document)


@login_required
@require_POST
def document_supersede_view(
    request: MemberRequest, slug: str, document_id: int, previous_id: int
) -> HttpResponse:
    """ "Replace it as a new version", from an upload's result or the later document's page:
    the later document becomes the next version of the earlier one, which keeps its title,
    tags and links."""
    added = _document(request, slug, document_id)
    previous = _document(request, slug, previous_id)
    refusals: list[str] = []
    cap_reached = None
    try:
        document_supersede(actor=request.user, document=previous, by=added)
    except WorkspaceError as refusal:
        refusals.append(str(refusal))
    except CapReached as refusal:
        refusals.append(refusal.message_for(request.user))
        cap_reached = refusal.for_user(request.user)
    if request.htmx and request.htmx.target == "documents":
        return _documents_section(
            request, previous.workspace, template="workspaces/workspace.html#documents",
            refusals=[] if cap_reached else refusals, cap_reached=cap_reached,
            superseded=None if refusals else previous,
        )  # fmt: skip
    for sentence in refusals:
        messages.error(request, sentence)
    if refusals:
        return _back_to_document(added)
    messages.success(request, f"“{previous.title}” is now version {previous.version}.")
    return _back_to_document(previous)


@login_required
@require_POST
def document_rename_view(request: MemberRequest, slug: str, document_id: int) -> HttpResponse:
    document = _document(request, slug, document_id)
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the document a title of at most 300 characters.")
        return _back_to_document(document)
    service_call_flashed(
        request,
        lambda: document_rename(
            actor=request.user, document=document, title=form.cleaned_data["title"]
        ),
        refused=WorkspaceError,
        success="Renamed.",
    )
    return _back_to_document(document)


@login_required
@require_GET
def retrieval_test(request: MemberRequest, slug: str) -> HttpResponse:
    """Editors try queries against a workspace and see both legs' ranks and scores."""
    workspace = _workspace(request, slug)
    if not workspace_allows(user=request.user, workspace=workspace, needed=WorkspaceRole.EDITOR):
        raise Http404
    form = RetrievalTestForm(request.GET)
    query, mode, error, filters = "", "hybrid", "", RetrievalFilters()
    if form.is_valid():
        (query, mode), filters = form.query_and_mode(), form.filters()
    else:
        error = form_refusal(form)
    results = (
        chunks_retrieve(
            user=request.user,
            query=query,
            within=[workspace.pk],
            k=20,
            mode=mode,
            filters=filters,
        )
        if query
        else []
    )
    relevant, below_floor = results_split_at_floor(
        results=results, floor=settings.RETRIEVAL_RELEVANCE_FLOOR
    )
    context = {
        "workspace": workspace,
        "form": form,
        "filters": filters,
        "query": query,
        "mode": mode,
        "modes": MODES,
        "results": relevant,
        "below_floor": below_floor,
        "floor": settings.RETRIEVAL_RELEVANCE_FLOOR,
        "lexemes": query_lexemes(query=query, language=workspace.language) if query else [],
        "error": error,
    }
    template = (
        "workspaces/retrieval_test.html#results"
        if request.htmx
        else "workspaces/retrieval_test.html"
    )
    return render(request, template, context, status=400 if error else 200)


def _access_page(
    request: MemberRequest,
    workspace: Workspace,
    *,
    settings_form: WorkspaceSettingsForm | None = None,
    grant_form: GrantForm | None = None,
    refusal: str = "",
) -> HttpResponse:
    initial = {
        "name": workspace.name,
        "description": workspace.description,
        "is_open": workspace.is_open,
    }
    context = {
        "workspace": workspace,
        "settings_form": settings_form or WorkspaceSettingsForm(initial=initial),
        "grant_form": grant_form or GrantForm(),
        "grants": workspace_grants(workspace=workspace),
        "groups": group_list(),
        "members": member_list(),
        "refusal": refusal,
    }
    return render(request, "workspaces/access.html", context, status=400 if refusal else 200)


@login_required
@require_GET
def workspace_access(request: MemberRequest, slug: str) -> HttpResponse:
    return _access_page(request, _workspace_managed(request, slug))


@login_required
@require_POST
def workspace_settings_save(request: MemberRequest, slug: str) -> HttpResponse:
    workspace = _workspace_managed(request, slug)
    form = WorkspaceSettingsForm(request.POST)
    if not form.is_valid():
        return _access_page(request, workspace, settings_form=form, refusal=form_refusal(form))
    try:
        workspace_update(actor=request.user, workspace=workspace, **form.cleaned_data)
        messages.success(request, "Saved.")
    except WorkspaceError as refusal:
        messages.error(request, str(refusal))
    return redirect("workspaces:access", slug=workspace.slug)


@login_required
@require_POST
def grant_add(request: MemberRequest, slug: str) -> HttpResponse:
    workspace = _workspace_managed(request, slug)
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _access_page(request, workspace, grant_form=form, refusal=form_refusal(form))
    principal, role = form.cleaned_data["principal"].strip(), form.cleaned_data["role"]
    grantee = grantee_find(principal=principal)
    try:
        if grantee is None:
            raise WorkspaceError(f"No member or group called “{principal}”.")
        grant_set(actor=request.user, workspace=workspace, role=role, grantee=grantee)
        messages.success(request, f"{principal} is now {role}.")
    except WorkspaceError as refusal:
        messages.error(request, str(refusal))
        return _access_page(request, workspace, grant_form=form)
    return redirect("workspaces:access", slug=workspace.slug)


@login_required
@require_POST
def grant_remove_view(request: MemberRequest, slug: str, grant_id: int) -> HttpResponse:
    workspace = _workspace_managed(request, slug)
    grant = grant_get(workspace=workspace, grant_id=grant_id)
    if grant is None:
        raise Http404
    try:
        grant_remove(actor=request.user, grant=grant)
    except WorkspaceError as refusal:
        messages.error(request, str(refusal))
    return redirect("workspaces:access", slug=workspace.slug)


def _models_besides(index: EmbeddingIndex) -> dict[str, str]:
    """The models offered other than the one in force: what an admin may move to."""
    return {k: v for k, v in embedding_models_offered().items() if k != index.model}


def _embedding_model_page(
    request: MemberRequest, *, form: EmbeddingModelForm | None = None, status: int = 200
) -> HttpResponse:
    index = embedding_index()
    others = _models_besides(index)
    context = {
        "index": index,
        "active_label": embedding_model_label(index.model),
        "target_label": embedding_model_label(index.target) if index.target else "",
        "chunk_count": chunk_total(),
        "form": form or EmbeddingModelForm(choices=others),
        "others": others,
    }
    template = "workspaces/embedding_model.html"
    if request.htmx and request.method == "GET":
        template += "#state"
    return render(request, template, context, status=status)


@organization_manager_required
@require_GET
def embedding_model(request: MemberRequest) -> HttpResponse:
    """Owners and admins see which model embeds the organization's passages, change it, and
    watch the re-embedding's progress (the state part polls while it runs)."""
    return _embedding_model_page(request)


@organization_manager_required
@require_POST
def embedding_model_change(request: MemberRequest) -> HttpResponse:
    form = EmbeddingModelForm(request.POST, choices=_models_besides(embedding_index()))
    if not form.is_valid():
        messages.error(request, form_refusal(form))
        return _embedding_model_page(request, form=form, status=400)
    try:
        reembedding_start(actor=request.user, model=form.cleaned_data["model"])
    except ReembeddingError as refusal:
        messages.error(request, str(refusal))
        return _embedding_model_page(request, form=form, status=400)
    messages.success(
        request, "Re-embedding started. Answers keep using the current model until it is done."
    )
    return redirect("workspaces:embedding_model")


@organization_manager_required
@require_POST
def embedding_model_retry(request: MemberRequest) -> HttpResponse:
    return _embedding_model_action(request, reembedding_retry, "Re-embedding resumed.")


@organization_manager_required
@require_POST
def embedding_model_cancel(request: MemberRequest) -> HttpResponse:
    return _embedding_model_action(
        request, reembedding_cancel, "Change cancelled: the current model stays."
    )


def _embedding_model_action(
    request: MemberRequest, action: Callable[..., EmbeddingIndex], done: str
) -> HttpResponse:
    try:
        action(actor=request.user)
    except ReembeddingError as refusal:
        messages.error(request, str(refusal))
        return _embedding_model_page(request, status=409)
    messages.success(request, done)
    return redirect("workspaces:embedding_model")
