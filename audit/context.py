"""The address of the request being served, for the audit events it causes. Services do not
take the request (HackSoft style); the middleware puts its address here for the duration of
the request instead. A context variable, so concurrent requests (threads or the event loop)
never see each other's."""

import ipaddress
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

from accounts.throttles import client_address

request_address: ContextVar[str | None] = ContextVar("audit_request_address", default=None)

Handler = Callable[[HttpRequest], HttpResponse]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def _address(request: HttpRequest) -> str | None:
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


@sync_and_async_middleware
def audit_address(get_response: Handler | AsyncHandler) -> Handler | AsyncHandler:
    if iscoroutinefunction(get_response):
        async_get_response: AsyncHandler = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            token = request_address.set(_address(request))
            try:
                return await async_get_response(request)
            finally:
                request_address.reset(token)

        return async_middleware
    sync_get_response: Handler = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponse:
        token = request_address.set(_address(request))
        try:
            return sync_get_response(request)
        finally:
            request_address.reset(token)

    return middleware
