"""The API keys page (owners and admins) and the API's docs page."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.views import SpectacularSwaggerSplitView

from accounts.http import MemberRequest, form_refusal
from api.forms import ApiKeyForm
from api.selectors import api_key_get, api_key_list, api_key_workspaces
from api.services import ApiKeyError, api_key_create, api_key_revoke
from members.permissions import organization_manager_required
from workspaces.selectors import workspace_list_readable


def _keys_page(request: MemberRequest, form: ApiKeyForm, **extra: object) -> HttpResponse:
    keys = [(key, api_key_workspaces(key=key)) for key in api_key_list()]
    return render(request, "api/keys.html", {"keys": keys, "form": form, **extra},
                  status=400 if form.errors or extra.get("refusal") else 200)  # fmt: skip


def _form(request: MemberRequest) -> ApiKeyForm:
    workspaces = workspace_list_readable(user=request.user)
    return ApiKeyForm(request.POST or None, workspaces=workspaces, label_suffix="")


@organization_manager_required
@require_GET
def keys(request: MemberRequest) -> HttpResponse:
    return _keys_page(request, _form(request))


@organization_manager_required
@require_POST
def key_create(request: MemberRequest) -> HttpResponse:
    """The new key is in this response only: it is not stored and cannot be shown again."""
    form = _form(request)
    if not form.is_valid():
        return _keys_page(request, form, refusal=form_refusal(form))
    try:
        issued = api_key_create(
            actor=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(),
            workspace_ids=[workspace.pk for workspace in form.cleaned_data["workspaces"]],
            level=form.cleaned_data["level"],
        )
    except ApiKeyError as refusal:
        return _keys_page(request, form, refusal=str(refusal))
    # Not stored by the browser either: signed-in pages are `private, no-store` (saas.middleware).
    return _keys_page(request, _form_blank(request), issued=issued)


def _form_blank(request: MemberRequest) -> ApiKeyForm:
    return ApiKeyForm(workspaces=workspace_list_readable(user=request.user), label_suffix="")


@organization_manager_required
@require_POST
def key_revoke(request: MemberRequest, key_id: int) -> HttpResponse:
    key = api_key_get(key_id=key_id)
    if key is None:
        raise Http404
    api_key_revoke(actor=request.user, key=key)
    messages.success(request, f"The key “{key.name}” is revoked; it no longer works.")
    return redirect("api:keys")


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our static files (drf-spectacular-sidecar), its start-up script a
    separate request: the Content-Security-Policy allows no inline script or style."""

    template_name = "api/docs.html"
    url_name = "api:schema"
    title = "Knowledge Assistant API"


docs = require_GET(DocsView.as_view())
