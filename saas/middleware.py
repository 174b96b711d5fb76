"""Response headers every page of both sites gets."""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.decorators import sync_and_async_middleware

Handler = Callable[[HttpRequest], HttpResponse]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def _headed(response: HttpResponse, *, signed_in: bool) -> HttpResponse:
    response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
    if signed_in:
        patch_cache_control(response, private=True, no_store=True)
    return response


@sync_and_async_middleware
def signed_in_pages_not_stored(get_response: Handler | AsyncHandler) -> Handler | AsyncHandler:
    """Permissions-Policy on every response; `Cache-Control: no-store` on every response to a
    signed-in person, so that neither a shared cache nor the browser's back button after
    signing out shows someone's documents, answers or billing to the next person. Async as
    well as sync, so the answer stream (an async view) stays on the event loop."""
    if iscoroutinefunction(get_response):
        async_get_response: AsyncHandler = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            response = await async_get_response(request)
            user = await request.auser()
            return _headed(response, signed_in=user.is_authenticated)

        return async_middleware
    sync_get_response: Handler = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponse:
        response = sync_get_response(request)
        return _headed(response, signed_in=request.user.is_authenticated)

    return middleware
