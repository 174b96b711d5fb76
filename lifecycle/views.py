from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import MemberRequest, form_refusal
from lifecycle.forms import RetentionForm
from lifecycle.retention import retention_next_run, retention_policy_get, retention_policy_set
from workspaces.access import organization_data_manageable


def data_owner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required, and the access policy's say on the organization's data (owners);
    to anyone else these pages do not exist."""

    @login_required
    @wraps(view)
    def wrapped(request: MemberRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not organization_data_manageable(user=request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _data_page(
    request: MemberRequest, *, retention_form: RetentionForm | None = None, status: int = 200
) -> HttpResponse:
    policy = retention_policy_get()
    context = {
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
    return render(request, "lifecycle/data.html", context, status=status)


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
