"""The idle sign-out: a signed-in session that has seen no request for
SESSION_IDLE_TIMEOUT_MINUTES is signed out."""

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import alogout, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.decorators import sync_and_async_middleware
from django_htmx.http import HttpResponseClientRedirect

Handler = Callable[[HttpRequest], HttpResponse]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


IDLE_KEY = "last_activity"
# The last-activity time is written at most this often, not on every request, so that a busy
# page does not rewrite its session row each time.
IDLE_RESOLUTION_SECONDS = 60


def activity_start(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    """On sign-in (user_logged_in), so that the first request after it writes nothing."""
    request.session[IDLE_KEY] = time.time()


def _idle_too_long(last: float | None, now: float) -> bool:
    limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
    return bool(limit) and last is not None and now - last > limit


def _idle_sign_in_page(request: HttpRequest) -> HttpResponse:
    minutes = settings.SESSION_IDLE_TIMEOUT_MINUTES
    messages.info(
        request, f"You were signed out after {minutes} minutes without activity. Sign in again."
    )
    htmx = getattr(request, "htmx", None)
    # An htmx request is for a piece of a page; after signing in, go back to the page.
    back = (htmx.current_url_abs_path if htmx else None) or request.get_full_path()
    url = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
    return HttpResponseClientRedirect(url) if htmx else redirect(url)


@sync_and_async_middleware
def session_idle_timeout(get_response: Handler | AsyncHandler) -> Handler | AsyncHandler:
    """Sign out a session that has seen no request for SESSION_IDLE_TIMEOUT_MINUTES (0: never),
    and send the person to the sign-in page, back to where they were afterwards."""
    if iscoroutinefunction(get_response):
        async_get_response: AsyncHandler = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            user = await request.auser()
            if user.is_authenticated:
                now, last = time.time(), await request.session.aget(IDLE_KEY)
                if _idle_too_long(last, now):
                    await alogout(request)
                    return _idle_sign_in_page(request)
                if last is None or now - last > IDLE_RESOLUTION_SECONDS:
                    await request.session.aset(IDLE_KEY, now)
            return await async_get_response(request)

        return async_middleware
    sync_get_response: Handler = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now, last = time.time(), request.session.get(IDLE_KEY)
            if _idle_too_long(last, now):
                logout(request)
                return _idle_sign_in_page(request)
            if last is None or now - last > IDLE_RESOLUTION_SECONDS:
                request.session[IDLE_KEY] = now
        return sync_get_response(request)

    return middleware
