"""Workspace -> Sources: add a website, a Drive folder or a SharePoint / OneDrive library,
see each source's syncs, sync now, pause, remove. Owners and admins only
(workspaces.access.sources_manageable); to anyone else, as to a workspace one may not
manage, these pages do not exist (404)."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import MemberRequest, form_refusal, service_call, service_call_flashed
from accounts.secrets_at_rest import KeyServiceUnavailable
from billing.caps import CapReached
from connectors.consent import (
    PROVIDER_NAMES,
    PROVIDERS,
    BrowseRefused,
    ConsentRefused,
    ConsentStateInvalid,
    KeptGrant,
    consent_begin,
    consent_claim,
    consent_exchange,
    forward_query,
    grant_drop,
    grant_folders,
    grant_keep,
    grant_kept,
    organization_site_root,
    providers_configured,
    state_organization,
)
from connectors.forms import (
    ConfluenceSourceForm,
    DriveConsentedSourceForm,
    DriveSourceForm,
    MicrosoftConsentedSourceForm,
    MicrosoftSourceForm,
    NotionSourceForm,
    SourceRemoveForm,
    SourceSettingsForm,
    WebsiteSourceForm,
)
from connectors.kinds import PERMISSION_KINDS
from connectors.models import Connector, SyncState
from connectors.selectors import (
    connector_document_count,
    connector_failures,
    connector_get,
    connector_list,
    connector_pending_count,
    connector_progress,
)
from connectors.services import (
    ConnectorError,
    confluence_connector_add,
    connector_consent_failed,
    connector_reconnect,
    connector_remove,
    connector_settings_set,
    connector_sync_request,
    drive_connector_add,
    drive_consented_connector_add,
    microsoft_connector_add,
    microsoft_consented_connector_add,
    notion_connector_add,
    website_connector_add,
)
from workspaces.access import sources_manageable
from workspaces.models import Workspace
from workspaces.selectors import workspace_get_manageable


def sources_manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, an owner or admin, and the workspace exists; otherwise a 404. The view
    gets the workspace instead of its slug."""

    @login_required
    @wraps(view)
    def wrapped(request: MemberRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        workspace = workspace_get_manageable(user=request.user, slug=slug)
        if workspace is None or not sources_manageable(user=request.user):
            raise Http404
        return view(request, workspace, *args, **kwargs)

    return wrapped


def _connector(workspace: Workspace, connector_id: int) -> Connector:
    connector = connector_get(workspace=workspace, connector_id=connector_id)
    if connector is None:
        raise Http404
    return connector


def _card(connector: Connector) -> dict[str, object]:
    running = connector.state in (SyncState.QUEUED, SyncState.RUNNING, SyncState.WAITING)
    return {
        "connector": connector,
        "running": running,
        "progress": connector_progress(connector=connector) if running else None,
        "failures": connector_failures(connector=connector),
        "documents": connector_document_count(connector=connector),
        "has_permissions": connector.kind in PERMISSION_KINDS,
        "pending": connector_pending_count(connector=connector),
        "permissions_sync_minutes": settings.CONNECTOR_PERMISSIONS_SYNC_MINUTES,
        "settings_form": SourceSettingsForm(
            initial={"schedule": connector.schedule, "paused": connector.paused}
        ),
    }


def _page(
    request: MemberRequest, workspace: Workspace, *, refusal: str = "", **filled: forms.Form
) -> HttpResponse:
    """The page; `filled`: a form sent back with its errors (website_form, drive_form, ...),
    the others empty."""
    context = {
        "workspace": workspace,
        "cards": [_card(connector) for connector in connector_list(workspace=workspace)],
        "website_form": filled.get("website_form") or WebsiteSourceForm(),
        "drive_form": filled.get("drive_form") or DriveSourceForm(),
        "confluence_form": filled.get("confluence_form") or ConfluenceSourceForm(),
        "notion_form": filled.get("notion_form") or NotionSourceForm(),
        "microsoft_form": filled.get("microsoft_form") or MicrosoftSourceForm(),
        "refusal": refusal,
        "permissions_sync_minutes": settings.CONNECTOR_PERMISSIONS_SYNC_MINUTES,
        "consent": providers_configured(),
    }
    return render(request, "connectors/sources.html", context, status=400 if refusal else 200)


@sources_manager_required
@require_GET
def sources_page(request: MemberRequest, workspace: Workspace) -> HttpResponse:
    return _page(request, workspace)


@sources_manager_required
@require_GET
def source_card(request: MemberRequest, workspace: Workspace, connector_id: int) -> HttpResponse:
    """The card alone: polled while a sync runs, for its progress bar."""
    card = _card(_connector(workspace, connector_id))
    return render(request, "connectors/sources.html#source-card", {"workspace": workspace, **card})


@sources_manager_required
@require_POST
def website_add(request: MemberRequest, workspace: Workspace) -> HttpResponse:
    form = WebsiteSourceForm(request.POST)
    if not form.is_valid():
        return _page(request, workspace, website_form=form, refusal=form_refusal(form))
    fields = form.cleaned_data
    return _added(
        request, workspace, lambda: website_connector_add(
            actor=request.user, workspace=workspace, start_url=fields["start_url"],
            prefix=fields["path_prefix"], schedule=fields["schedule"],
            username=fields["username"], password=fields["password"],
        ), website_form=form,
    )  # fmt: skip


@sources_manager_required
@require_POST
def drive_add(request: MemberRequest, workspace: Workspace) -> HttpResponse:
    return _source_add(request, workspace, DriveSourceForm, "drive_form", drive_connector_add)


@sources_manager_required
@require_POST
def confluence_add(request: MemberRequest, workspace: Workspace) -> HttpResponse:
    return _source_add(
        request, workspace, ConfluenceSourceForm, "confluence_form", confluence_connector_add
    )


@sources_manager_required
@require_POST
def notion_add(request: MemberRequest, workspace: Workspace) -> HttpResponse:
    return _source_add(request, workspace, NotionSourceForm, "notion_form", notion_connector_add)


@sources_manager_required
@require_POST
def microsoft_add(request: MemberRequest, workspace: Workspace) -> HttpResponse:
    return _source_add(
        request, workspace, MicrosoftSourceForm, "microsoft_form", microsoft_connector_add
    )


def _source_add(
    request: MemberRequest,
    workspace: Workspace,
    form_class: type[forms.Form],
    form_name: str,
    add: Callable[..., Connector],
) -> HttpResponse:
    """A source whose form's fields are its add service's arguments."""
    form = form_class(request.POST)
    if not form.is_valid():
        return _page(request, workspace, refusal=form_refusal(form), **{form_name: form})
    fields = form.cleaned_data
    return _added(
        request,
        workspace,
        lambda: add(actor=request.user, workspace=workspace, **fields),
        **{form_name: form},
    )


def _added(
    request: MemberRequest, workspace: Workspace, add: Callable[[], Connector],
    **filled: forms.Form,
) -> HttpResponse:  # fmt: skip
    """Add a source (the service call `add`): back to the list, or the page again with the
    filled form and the refusal."""
    try:
        connector, refusal = service_call(add, refused=ConnectorError)
    except CapReached as reached:
        connector, refusal = None, reached.message_for(request.user)
    if connector is None:
        return _page(request, workspace, refusal=refusal, **filled)
    messages.success(request, f"Added {connector.name}; its first sync has started.")
    return redirect("connectors:list", slug=workspace.slug)


@sources_manager_required
@require_POST
def source_sync(request: MemberRequest, workspace: Workspace, connector_id: int) -> HttpResponse:
    connector = _connector(workspace, connector_id)
    service_call_flashed(
        request, lambda: connector_sync_request(actor=request.user, connector=connector),
        refused=ConnectorError, success=f"A sync of {connector.name} has started.",
    )  # fmt: skip
    return redirect("connectors:list", slug=workspace.slug)


@sources_manager_required
@require_POST
def source_settings(
    request: MemberRequest, workspace: Workspace, connector_id: int
) -> HttpResponse:
    connector = _connector(workspace, connector_id)
    form = SourceSettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, workspace, refusal=form_refusal(form))
    settings = form.cleaned_data
    service_call_flashed(
        request,
        lambda: connector_settings_set(actor=request.user, connector=connector, **settings),
        refused=ConnectorError, success="Saved.",
    )  # fmt: skip
    return redirect("connectors:list", slug=workspace.slug)


@sources_manager_required
@require_POST
def source_remove(request: MemberRequest, workspace: Workspace, connector_id: int) -> HttpResponse:
    connector = _connector(workspace, connector_id)
    form = SourceRemoveForm(request.POST)
    form.is_valid()  # one optional checkbox: anything else is "no"
    documents_too = bool(form.cleaned_data.get("documents_too"))
    kept = "; its documents stay."

    def removed(deleted: int) -> str:
        ending = f" and the {deleted} document{pluralize(deleted)} it synced."
        return f"Removed {connector.name}" + (ending if documents_too else kept)

    service_call_flashed(
        request,
        lambda: connector_remove(
            actor=request.user, connector=connector, documents_too=documents_too
        ),
        refused=ConnectorError,
        success=removed,
    )
    return redirect("connectors:list", slug=workspace.slug)


# --- connecting by consent (connectors/consent.py) -----------------------------------------
CONSENTED_FORMS: dict[str, type[forms.Form]] = {
    "google": DriveConsentedSourceForm, "microsoft": MicrosoftConsentedSourceForm,
}  # fmt: skip
CONSENTED_ADD: dict[str, Callable[..., Connector]] = {
    "google": drive_consented_connector_add, "microsoft": microsoft_consented_connector_add,
}  # fmt: skip


def _provider(provider: str) -> str:
    """A provider whose consent our app is configured for; otherwise there is no page."""
    if provider not in PROVIDERS or not providers_configured()[provider]:
        raise Http404
    return provider


def _consent_redirect(
    request: MemberRequest, workspace: Workspace, provider: str, connector: Connector | None
) -> HttpResponse:
    try:
        url = consent_begin(
            request=request, organization_slug=request.tenant.slug,  # type: ignore[attr-defined]
            user=request.user, workspace=workspace, provider=provider, connector=connector,
        )  # fmt: skip
    except ConsentRefused as refusal:
        return _page(request, workspace, refusal=str(refusal))
    return HttpResponseRedirect(url)


@sources_manager_required
@require_POST
def consent_start(request: MemberRequest, workspace: Workspace, provider: str) -> HttpResponse:
    """ "Connect Google Drive" / "Connect SharePoint / OneDrive": to the provider's consent."""
    return _consent_redirect(request, workspace, _provider(provider), None)


@sources_manager_required
@require_POST
def source_reconnect(
    request: MemberRequest, workspace: Workspace, connector_id: int
) -> HttpResponse:
    """A source connected by consent, whose grant was revoked or expired: consent again."""
    connector = _connector(workspace, connector_id)
    if not connector.selection.get("consent"):
        raise Http404
    provider = next(name for name, kind in PROVIDERS.items() if kind == connector.kind)
    return _consent_redirect(request, workspace, _provider(provider), connector)


@require_GET
def consent_callback(request: HttpRequest) -> HttpResponse:
    """Public site: the provider's redirect after the consent, sent on to the organization's
    site that the state names (which checks it again, with the session that began it)."""
    try:
        slug = state_organization(request.GET.get("state", ""))
    except ConsentStateInvalid:
        return render(request, "connectors/consent_invalid.html", status=400)
    finish = organization_site_root(request, slug) + reverse(
        "connectors:consent_finish", urlconf=settings.ROOT_URLCONF
    )
    return HttpResponseRedirect(f"{finish}?{forward_query(request)}")


@login_required
@require_GET
def consent_finish(request: MemberRequest) -> HttpResponse:
    """The provider's answer, forwarded from the public site: finish the consent this
    session began, then to the page that picks what to sync (or, for a reconnect, back to
    the sources)."""
    slug = request.tenant.slug  # type: ignore[attr-defined]
    try:
        pending = consent_claim(
            request=request, state=request.GET.get("state", ""), organization_slug=slug,
            user=request.user,
        )  # fmt: skip
    except ConsentStateInvalid:
        connector_consent_failed(
            actor=request.user, workspace=None, provider="",
            reason="The answer's state was not begun by this session.",
        )  # fmt: skip
        return render(request, "connectors/consent_invalid.html", status=400)
    workspace = workspace_get_manageable(user=request.user, slug=pending.workspace_slug)
    if workspace is None or not sources_manageable(user=request.user):
        raise Http404
    name = PROVIDER_NAMES[pending.provider]
    if request.GET.get("error"):
        reason = request.GET.get("error_description") or request.GET["error"]
        connector_consent_failed(
            actor=request.user, workspace=workspace, provider=pending.provider, reason=reason
        )
        denied = request.GET["error"] == "access_denied"
        messages.error(request, f"{name} was not connected: "
                       + ("access was not allowed." if denied else f"{reason[:300]}."))  # fmt: skip
        return redirect("connectors:list", slug=workspace.slug)
    try:
        grant = consent_exchange(request=request, pending=pending, organization_slug=slug)
    except ConsentRefused as refusal:
        connector_consent_failed(
            actor=request.user, workspace=workspace, provider=pending.provider,
            reason=str(refusal),
        )  # fmt: skip
        messages.error(request, f"{name} was not connected. {refusal}")
        return redirect("connectors:list", slug=workspace.slug)
    if pending.connector_id is not None:
        connector = _connector(workspace, pending.connector_id)
        service_call_flashed(
            request, lambda: connector_reconnect(
                actor=request.user, connector=connector, credentials=grant.credentials,
                account=grant.account,
            ), refused=ConnectorError, success=f"Reconnected {connector.name}; it syncs again.",
        )  # fmt: skip
        return redirect("connectors:list", slug=workspace.slug)
    try:
        grant_keep(request=request, pending=pending, grant=grant)
    except KeyServiceUnavailable as refusal:
        return _page(request, workspace, refusal=str(refusal))
    return redirect("connectors:consent_choose", slug=workspace.slug, provider=pending.provider)


@sources_manager_required
@require_http_methods(["GET", "POST"])
def consent_choose(request: MemberRequest, workspace: Workspace, provider: str) -> HttpResponse:
    """After the consent: what to sync from the connected account, and how often."""
    kept = grant_kept(request=request, provider=_provider(provider), workspace=workspace)
    if kept is None:
        messages.error(request, f"Connect {PROVIDER_NAMES[provider]} first.")
        return redirect("connectors:list", slug=workspace.slug)
    form_class = CONSENTED_FORMS[provider]
    if request.method != "POST":
        initial = {"user": kept.account} if provider == "microsoft" else {}
        return _choose_page(request, workspace, kept, form_class(initial=initial))
    form = form_class(request.POST)
    if not form.is_valid():
        return _choose_page(request, workspace, kept, form, form_refusal(form))
    add = CONSENTED_ADD[provider]
    try:
        connector, refusal = service_call(
            lambda: add(actor=request.user, workspace=workspace, credentials=kept.credentials,
                        account=kept.account, **form.cleaned_data),
            refused=ConnectorError,
        )  # fmt: skip
    except CapReached as reached:
        connector, refusal = None, reached.message_for(request.user)
    if connector is None:
        return _choose_page(request, workspace, kept, form, refusal)
    grant_drop(request=request)
    messages.success(request, f"Added {connector.name}; its first sync has started.")
    return redirect("connectors:list", slug=workspace.slug)


def _choose_page(
    request: MemberRequest, workspace: Workspace, kept: KeptGrant, form: forms.Form,
    refusal: str = "",
) -> HttpResponse:  # fmt: skip
    provider = kept.provider
    context = {
        "workspace": workspace, "provider": provider, "provider_name": PROVIDER_NAMES[provider],
        "account": kept.account, "form": form, "refusal": refusal,
        "permissions_sync_minutes": settings.CONNECTOR_PERMISSIONS_SYNC_MINUTES,
        **_picker(request, workspace, kept, _browse_query(request)),
    }  # fmt: skip
    return render(
        request, "connectors/consent_choose.html", context, status=400 if refusal else 200
    )


BROWSE_KEYS = ("folder", "site", "item", "search")


def _browse_query(request: HttpRequest) -> dict[str, str]:
    """Where the picker is: Google's folder, Microsoft's site and item or a search for
    sites (from the address)."""
    return {key: request.GET[key][:500] for key in BROWSE_KEYS if request.GET.get(key)}


def _picker(
    request: MemberRequest, workspace: Workspace, kept: KeptGrant, query: dict[str, str]
) -> dict[str, object]:
    """The picker's context: one level of the account's folders, or why it cannot be
    listed (with a retry, or a new consent when the grant is gone)."""
    browse = reverse("connectors:consent_browse", args=[workspace.slug, kept.provider])
    choose = reverse("connectors:consent_choose", args=[workspace.slug, kept.provider])
    here = urlencode(query)
    picker: dict[str, object] = {
        "browse_url": browse, "choose_url": choose,
        "retry_url": f"{browse}?{here}" if here else browse,
        "retry_page": f"{choose}?{here}" if here else choose, "listing": None,
        "picked": request.POST.get("picked", ""), "search": query.get("search", ""),
        "browse_refusal": "", "browse_reconnect": False,
    }  # fmt: skip
    try:
        listing = grant_folders(request=request, kept=kept, query=query)
    except BrowseRefused as refusal:
        picker.update(browse_refusal=str(refusal), browse_reconnect=refusal.reconnect)
        return picker

    def place(where: dict[str, str]) -> str:
        return f"?{urlencode(where)}" if where else ""

    picker["listing"] = {
        "here": listing.here,
        "up": None if listing.up is None else place(listing.up),
        "choice": json.dumps(listing.choice) if listing.choice is not None else "",
        "truncated": listing.truncated,
        "folders": [
            {"name": folder.name, "open": place(folder.open), "choice": json.dumps(folder.choice)}
            for folder in listing.folders
        ],
    }
    return picker


@sources_manager_required
@require_GET
def consent_browse(request: MemberRequest, workspace: Workspace, provider: str) -> HttpResponse:
    """The picker alone, at a folder (HTMX swaps it in): only for the session and person
    whose consent is kept for this workspace; to anyone else, no such page."""
    kept = grant_kept(request=request, provider=_provider(provider), workspace=workspace)
    if kept is None:
        raise Http404
    context = {"workspace": workspace, "provider": provider,
               "provider_name": PROVIDER_NAMES[provider],
               **_picker(request, workspace, kept, _browse_query(request))}  # fmt: skip
    return render(request, "connectors/consent_choose.html#picker", context)
