from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from assistant.retrieval import MODES, chunks_retrieve_for_user, query_lexemes
from saas.http import MemberRequest
from workspaces.selectors import workspace_get_readable, workspace_role_at_least


@login_required
@require_GET
def retrieval_test(request: MemberRequest, slug: str) -> HttpResponse:
    """Editors try queries against a workspace and see both legs' ranks and scores."""
    workspace = workspace_get_readable(user=request.user, slug=slug)
    if workspace is None or not workspace_role_at_least(
        user=request.user, workspace=workspace, role="editor"
    ):
        raise Http404
    query = request.GET.get("q", "").strip()
    mode = request.GET.get("mode", "hybrid")
    mode = mode if mode in MODES else "hybrid"
    results = (
        chunks_retrieve_for_user(
            user=request.user, query=query, workspace_ids=[workspace.pk], k=20, mode=mode
        )
        if query
        else []
    )
    context = {
        "workspace": workspace,
        "query": query,
        "mode": mode,
        "modes": MODES,
        "results": results,
        "lexemes": query_lexemes(query=query, language=workspace.language) if query else [],
    }
    template = (
        "assistant/retrieval_test.html#results" if request.htmx else "assistant/retrieval_test.html"
    )
    return render(request, template, context)
