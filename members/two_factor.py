"""The organization's "require two-factor for everyone" rule, enforced on every request: a
signed-in person without an authenticator app is sent to set one up (allauth.mfa) before
anything else. Sign-in, sign-out and allauth's own pages stay reachable."""

from collections.abc import Awaitable, Callable

from allauth.mfa.models import Authenticator
from asgiref.sync import iscoroutinefunction
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import sync_and_async_middleware
from django_htmx.http import HttpResponseClientRedirect

Handler = Callable[[HttpRequest], HttpResponse]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]

EXEMPT_PREFIXES = ("/accounts/", "/static/")
SET_UP_MESSAGE = (
    "Your organization requires two-factor authentication. Set up an authenticator app to continue."
)


def _rule_applies(request: HttpRequest) -> bool:
    organization = getattr(request, "tenant", None)
    return bool(getattr(organization, "require_two_factor", False)) and not any(
        request.path.startswith(prefix) for prefix in EXEMPT_PREFIXES
    )


def _set_up_page(request: HttpRequest) -> HttpResponse:
    messages.warning(request, SET_UP_MESSAGE)
    url = reverse("mfa_activate_totp")
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", None) else redirect(url)


def _totp(user_id: object) -> QuerySet[Authenticator]:
    return Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP)


@sync_and_async_middleware
def two_factor_required(get_response: Handler | AsyncHandler) -> Handler | AsyncHandler:
    if iscoroutinefunction(get_response):
        async_get_response: AsyncHandler = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            if _rule_applies(request):
                user = await request.auser()
                if user.is_authenticated and not await _totp(user.pk).aexists():
                    return _set_up_page(request)
            return await async_get_response(request)

        return async_middleware
    sync_get_response: Handler = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if _rule_applies(request) and user.is_authenticated and not _totp(user.pk).exists():
            return _set_up_page(request)
        return sync_get_response(request)

    return middleware
