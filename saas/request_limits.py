"""Refuse an oversized request body before reading it.

Django's ASGI handler reads the whole body (into a spooled temporary file) before any
middleware or view runs, so a view that refuses a 100 MB upload has already received
100 MB. This wrapper sits in front of it: a declared Content-Length over the limit is
answered at once with 413, and a body sent without one (chunked) is cut off as soon as it
passes the limit.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def refusal_text(*, max_bytes: int, per_file_bytes: int) -> str:
    return (
        f"This upload is too large: one request may carry at most {max_bytes // 1_048_576} MB "
        f"and each file at most {per_file_bytes // 1_048_576} MB. Upload fewer or smaller "
        "files at a time."
    )


class RequestBodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, per_file_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.refusal = refusal_text(max_bytes=max_bytes, per_file_bytes=per_file_bytes).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received, cut_off, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Django treats a disconnect while reading the body as an aborted request
                    # and answers nothing; the 413 is sent below.
                    cut_off = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, watched_send)
        if cut_off and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(self.refusal)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.refusal})
