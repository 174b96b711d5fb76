import io
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import MemberRequest, form_refusal
from lifecycle.export import (
    ExportRefused,
    conversations_export_own,
    data_export_download,
    data_export_link_expiry,
    data_export_link_token,
    data_export_start,
)
from lifecycle.forms import RetentionForm
from lifecycle.retention import retention_next_run, retention_policy_get, retention_policy_set
from lifecycle.selectors import data_export_list
from workspaces.access import organization_data_manageable


def data_owner_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Sign-in required, and the access policy's say on the organization's data (owners);
    to anyone else these pages do not exist."""

    @login_required
    @wraps(view)
    def wrapped(request: MemberRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not organization_data_manageable(user=request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _data_page(
    request: MemberRequest,
    *,
    retention_form: RetentionForm | None = None,
    status: int = 200,
    template: str = "lifecycle/data.html",
) -> HttpResponse:
    policy = retention_policy_get()
    exports = list(data_export_list())
    context = {
        "exports": [
            (
                export,
                data_export_link_token(export=export) if export.is_downloadable else "",
                data_export_link_expiry(export=export),
            )
            for export in exports
        ],
        "exports_busy": any(export.is_busy for export in exports),
        "link_hours": settings.DATA_EXPORT_LINK_MAX_AGE_SECONDS // 3600,
        "policy": policy,
        "retention_form": retention_form
        or RetentionForm(
            initial={
                "conversation_days": policy.conversation_days,
                "feedback_days": policy.feedback_days,
            }
        ),
        "next_run": retention_next_run(),
    }
    return render(request, template, context, status=status)


@data_owner_required
@require_GET
def data(request: MemberRequest) -> HttpResponse:
    return _data_page(request)


@data_owner_required
@require_POST
def retention(request: MemberRequest) -> HttpResponse:
    form = RetentionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_refusal(form))
        return _data_page(request, retention_form=form, status=400)
    retention_policy_set(actor=request.user, **form.cleaned_data)
    messages.success(request, "Retention saved. It applies from the next daily run.")
    return redirect("lifecycle:data")


@data_owner_required
@require_GET
def exports(request: MemberRequest) -> HttpResponse:
    """The exports list alone, polled while an archive is being written."""
    return _data_page(request, template="lifecycle/data.html#exports")


@data_owner_required
@require_POST
def export_start(request: MemberRequest) -> HttpResponse:
    try:
        data_export_start(actor=request.user)
    except ExportRefused as refusal:
        messages.error(request, str(refusal))
        return _data_page(request, status=409)
    messages.success(
        request, "The export has started. Its download link appears below when it is ready."
    )
    return redirect("lifecycle:data")


@data_owner_required
@require_GET
def export_download(request: MemberRequest, token: str) -> HttpResponseBase:
    try:
        archive, filename = data_export_download(actor=request.user, token=token)
    except ExportRefused as refusal:
        messages.error(request, str(refusal))
        return _data_page(request, status=410)
    return FileResponse(archive, as_attachment=True, filename=filename)


@login_required
@require_GET
def my_data(request: MemberRequest) -> HttpResponse:
    return render(request, "lifecycle/my_data.html")


@login_required
@require_POST
def my_conversations_export(request: MemberRequest) -> HttpResponseBase:
    """A person's own conversations and feedback as a zip, at once."""
    archive = io.BytesIO()
    conversations_export_own(actor=request.user, out=archive)
    archive.seek(0)
    return FileResponse(archive, as_attachment=True, filename="my-conversations.zip")
