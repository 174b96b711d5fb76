"""Members -> Integrations (owners and admins; a 404 to anyone else): add the Slack app,
choose what it may search, remove it. And the public site's two Slack endpoints: the
OAuth redirect (forwarded to the organization's site) and the events URL (slack-bolt)."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.http import MemberRequest, form_refusal, service_call_flashed
from integrations.forms import SlackWorkspacesForm
from integrations.install_flow import (
    InstallStateInvalid,
    forward_query,
    install_begin,
    install_claim,
    organization_site_root,
    public_site_root,
    redirect_uri,
    state_organization,
)
from integrations.selectors import installation_get, installation_workspaces
from integrations.services import (
    SlackInstallRefused,
    slack_install_complete,
    slack_uninstall,
    slack_workspaces_set,
)
from integrations.slack_app import slack_request_handler
from members.permissions import organization_manager_required
from workspaces.access import workspace_ids_manageable
from workspaces.models import Workspace


def _form(request: MemberRequest, data: object = None) -> SlackWorkspacesForm:
    choices = Workspace.objects.filter(id__in=workspace_ids_manageable(user=request.user))
    installation = installation_get()
    initial = (
        {"workspaces": list(installation_workspaces(installation=installation))}
        if installation
        else None
    )
    return SlackWorkspacesForm(
        data, workspaces=choices.order_by("name"), initial=initial, label_suffix=""
    )


def _page(request: MemberRequest, form: SlackWorkspacesForm, status: int = 200) -> HttpResponse:
    installation = installation_get()
    context = {
        "installation": installation,
        "searched": installation_workspaces(installation=installation) if installation else [],
        "form": form,
        "configured": bool(settings.SLACK_OAUTH_CLIENT_ID and settings.SLACK_SIGNING_SECRET),
        "refusal": form_refusal(form) if form.errors else "",
    }
    return render(request, "integrations/integrations.html", context, status=status)


@organization_manager_required
@require_GET
def integrations(request: MemberRequest) -> HttpResponse:
    return _page(request, _form(request))


@organization_manager_required
@require_POST
def slack_install(request: MemberRequest) -> HttpResponse:
    """Begin "Add to Slack": remember the chosen workspaces, go to Slack's approval page."""
    form = _form(request, request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    url = install_begin(
        request=request,
        organization_slug=request.tenant.slug,  # type: ignore[attr-defined]
        workspace_ids=[workspace.pk for workspace in form.cleaned_data["workspaces"]],
    )
    return HttpResponseRedirect(url)


@organization_manager_required
@require_GET
def slack_install_finish(request: MemberRequest) -> HttpResponse:
    """Slack's redirect, forwarded from the public site: complete the install that this
    session began."""
    slug = request.tenant.slug  # type: ignore[attr-defined]
    if request.GET.get("error"):
        request.session.pop("slack_install", None)
        messages.error(request, "The Slack app was not added: the install was cancelled in Slack.")
        return redirect("integrations:page")
    try:
        workspace_ids = install_claim(
            request=request, state=request.GET.get("state", ""), organization_slug=slug
        )
    except InstallStateInvalid:
        messages.error(
            request, "That install link has expired or was not started here. Add to Slack again."
        )
        return redirect("integrations:page")
    service_call_flashed(
        request,
        lambda: slack_install_complete(
            actor=request.user,
            code=request.GET.get("code", ""),
            redirect_uri=redirect_uri(public_site_root(request, slug)),
            workspace_ids=workspace_ids,
            site_root=f"{request.scheme}://{request.get_host()}",
        ),
        refused=SlackInstallRefused,
        success=lambda installation: (
            f"The Slack app is added to “{installation.team_name}”. Mention it, message it, "
            "or type /ask there."
        ),
    )
    return redirect("integrations:page")


@organization_manager_required
@require_POST
def slack_workspaces(request: MemberRequest) -> HttpResponse:
    installation = installation_get()
    if installation is None:
        raise Http404
    form = _form(request, request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    service_call_flashed(
        request,
        lambda: slack_workspaces_set(
            actor=request.user,
            installation=installation,
            workspace_ids=[workspace.pk for workspace in form.cleaned_data["workspaces"]],
        ),
        refused=SlackInstallRefused,
        success="Saved: the Slack app searches those workspaces.",
    )
    return redirect("integrations:page")


@organization_manager_required
@require_POST
def slack_remove(request: MemberRequest) -> HttpResponse:
    installation = installation_get()
    if installation is None:
        raise Http404
    service_call_flashed(
        request,
        lambda: slack_uninstall(actor=request.user, installation=installation),
        refused=SlackInstallRefused,
        success=f"The Slack app is removed from “{installation.team_name}”.",
    )
    return redirect("integrations:page")


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Public site: Slack's redirect after approval, sent on to the organization's site
    that the state names (which checks it again, with the session that began it)."""
    try:
        slug = state_organization(request.GET.get("state", ""))
    except InstallStateInvalid:
        return render(request, "integrations/install_link_invalid.html", status=400)
    finish = organization_site_root(request, slug) + reverse(
        "integrations:slack_finish", urlconf=settings.ROOT_URLCONF
    )
    return HttpResponseRedirect(f"{finish}?{forward_query(request)}")


@csrf_exempt  # Slack signs its requests instead (slack-bolt checks the signature)
@require_POST
def slack_events(request: HttpRequest) -> HttpResponse:
    """Events, the /ask command and button presses, for every organization."""
    if not (settings.SLACK_SIGNING_SECRET and settings.SLACK_OAUTH_CLIENT_ID):
        raise Http404
    return slack_request_handler().handle(request)
