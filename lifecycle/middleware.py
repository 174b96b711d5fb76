"""An organization waiting out its deletion's grace period is read-only."""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import sync_and_async_middleware

Handler = Callable[[HttpRequest], HttpResponse]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _still_allowed(path: str) -> bool:
    """Writes that do not change the organization's data: cancelling the deletion, taking
    the data out, and a person's own account (signing in and out, two-factor)."""
    allowed = (
        reverse("lifecycle:deletion_cancel"),
        reverse("lifecycle:export_start"),
        reverse("lifecycle:my_conversations"),
    )
    return path in allowed or path.startswith("/accounts/")


def _refusal(request: HttpRequest) -> HttpResponse | None:
    due = getattr(getattr(request, "tenant", None), "deletion_due_at", None)
    if due is None or request.method in SAFE_METHODS or _still_allowed(request.path):
        return None
    sentence = (
        f"This organization is scheduled for deletion on {due:%-d %b %Y} and is read-only "
        "until then. An owner can cancel the deletion on Members → Data."
    )
    body = render_to_string("error.html", {"reason": sentence})
    return HttpResponse(body, status=409)


@sync_and_async_middleware
def read_only_while_deletion_due(get_response: Handler | AsyncHandler) -> Handler | AsyncHandler:
    """A 409 with a sentence for every write but those `_still_allowed` lets through, while
    the organization's deletion is scheduled (tenants.models.Organization.deletion_due_at,
    loaded with the tenant: no query)."""
    if iscoroutinefunction(get_response):
        async_get_response: AsyncHandler = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            return _refusal(request) or await async_get_response(request)

        return async_middleware
    sync_get_response: Handler = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponse:
        return _refusal(request) or sync_get_response(request)

    return middleware
