import io
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import MemberRequest, Result, form_refusal, service_call
from accounts.models import User
from lifecycle.deletion import (
    DeletionRefused,
    deletion_pending,
    organization_deletion_cancel,
    organization_deletion_schedule,
)
from lifecycle.erasure import ErasureRefused, member_erase, members_erasable
from lifecycle.export import (
    ExportRefused,
    conversations_export_own,
    data_export_download,
    data_export_link_expiry,
    data_export_link_token,
    data_export_start,
)
from lifecycle.forms import DeletionForm, RetentionForm
from lifecycle.retention import retention_next_run, retention_policy_get, retention_policy_set
from lifecycle.selectors import data_export_list
from members.selectors import member_get
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
    deletion_form: DeletionForm | None = None,
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
        "deletion": deletion_pending(),
        "deletion_form": deletion_form or DeletionForm(),
        "has_authenticator": Authenticator.objects.filter(
            user=request.user, type=Authenticator.Type.TOTP
        ).exists(),
        "grace_days": settings.ORGANIZATION_DELETION_GRACE_DAYS,
        "erasable": members_erasable(),
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


def _acted(
    request: MemberRequest,
    action: Callable[[], Result],
    *,
    refused: type[Exception],
    success: Callable[[Result], str],
    status: int,
    deletion_form: DeletionForm | None = None,
) -> HttpResponse:
    """Run a service call: its success flashed and back to the page, or the page again with
    its refusal's sentence and `status`."""
    result, refusal = service_call(action, refused=refused)
    if refusal:
        messages.error(request, refusal)
        return _data_page(request, deletion_form=deletion_form, status=status)
    messages.success(request, success(result))  # type: ignore[arg-type]
    return redirect("lifecycle:data")


@data_owner_required
@require_POST
def export_start(request: MemberRequest) -> HttpResponse:
    return _acted(
        request,
        lambda: data_export_start(actor=request.user),
        refused=ExportRefused,
        success=lambda _: "The export has started. Its download link appears below when ready.",
        status=409,
    )


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


@data_owner_required
@require_POST
def deletion_schedule(request: MemberRequest) -> HttpResponse:
    form = DeletionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_refusal(form))
        return _data_page(request, deletion_form=form, status=400)
    return _acted(
        request,
        lambda: organization_deletion_schedule(actor=request.user, **form.cleaned_data),
        refused=DeletionRefused,
        success=lambda deletion: (
            f"The organization will be deleted on {deletion.due_at:%-d %b %Y}. Until then it "
            "is read-only, and you can cancel the deletion here."
        ),
        status=400,
        deletion_form=form,
    )


@data_owner_required
@require_POST
def deletion_cancel(request: MemberRequest) -> HttpResponse:
    return _acted(
        request,
        lambda: organization_deletion_cancel(actor=request.user),
        refused=DeletionRefused,
        success=lambda _: "The deletion is cancelled. The organization is writable again.",
        status=409,
    )


@data_owner_required
@require_POST
def member_erase_view(request: MemberRequest, member_id: int) -> HttpResponse:
    member = members_erasable().filter(pk=member_id).first() or member_active_get(member_id)
    return _acted(
        request,
        lambda: member_erase(actor=request.user, member=member),
        refused=ErasureRefused,
        success=lambda opaque: f"Their personal data is erased. The audit log now says {opaque}.",
        status=400,
    )


def member_active_get(member_id: int) -> User:
    """A current member asked to be erased gets the refusal's sentence; no one is a 404."""
    member = member_get(member_id=member_id)
    if member is None:
        raise Http404
    return member
