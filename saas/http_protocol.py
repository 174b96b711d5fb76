"""uvicorn's HTTP/1.1 protocol (h11), answering a request head it cannot read instead of
resetting the connection. Every launch runs it: `uvicorn --http saas.http_protocol:HttpProtocol`
(infra/Dockerfile, localdev/run.py, tests/live.py).

uvicorn answers a head past h11's limit (a 1 MB query string) with a 400 and closes the socket
at once, while the client is still sending: closing a socket with unread data makes the kernel
send a reset, and the client sees "connection reset by peer" instead of the answer. Here the
answer says what was too long (414 for the request line, 431 for the headers), the sending
side is shut after it, and what the client still sends is read and dropped for a few seconds
(a "lingering close", as nginx and Apache do) before the socket is closed.
"""

import asyncio
import http
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

# The longest head read: room for the longest search a person can type (2,000 characters,
# 9 bytes each once percent-encoded in a three-byte script) arriving in many packets; h11's
# own 16 kB refuses it when it does not come in one read.
HEAD_MAX_BYTES = 64 * 1024
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 8 * 1024 * 1024


class HttpProtocol(H11Protocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_max_bytes = config.h11_max_incomplete_event_size or HEAD_MAX_BYTES
        self.conn = h11.Connection(h11.SERVER, self.head_max_bytes)
        self.lingering: asyncio.TimerHandle | None = None
        self.discarded_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self.lingering is None:
            super().data_received(data)
            return
        self.discarded_bytes += len(data)
        if self.discarded_bytes > LINGER_MAX_BYTES:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lingering is not None:
            self.lingering.cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn for every head h11 refuses; `msg` is uvicorn's generic one."""
        unread, _ = self.conn.trailing_data
        if len(unread) <= self.head_max_bytes:
            status, sentence = http.HTTPStatus.BAD_REQUEST, msg
        elif b"\n" not in unread:
            status = http.HTTPStatus.REQUEST_URI_TOO_LONG
            sentence = f"The address is too long: at most {self.head_max_bytes // 1024} kB."
        else:
            status = http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            sentence = (
                f"The request's headers are too long: at most {self.head_max_bytes // 1024} kB."
            )
        self.logger.warning("Refused a request head: %s", sentence)
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        for event in (
            h11.Response(status_code=status, headers=headers, reason=status.phrase),
            h11.Data(data=sentence.encode()),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.lingering = self.loop.call_later(LINGER_SECONDS, self.transport.close)
