"""A request head too long to read (a 1 MB query string, a 1 MB header) gets an answer from
the real server (uvicorn in its own process, as production runs it), not a reset connection;
the longest query a person can type is still read."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.live import free_port, uvicorn_running


@pytest.fixture(scope="module")
def live_port(django_db_setup: None) -> Iterator[int]:
    port = free_port()
    with uvicorn_running(port):
        yield port


def exchange(port: int, head: bytes, *, piece: int = 1 << 20) -> bytes:
    """Send `head` in pieces of `piece` bytes (from a thread, as a client writes while the
    server may already answer) and read until the server closes: the raw response."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:

        def send() -> None:
            for start in range(0, len(head), piece):
                conn.sendall(head[start : start + piece])
                if piece < len(head):
                    time.sleep(0.01)

        sender = threading.Thread(target=send)
        sender.start()
        response = b""
        while chunk := conn.recv(65536):
            response += chunk
        sender.join()
        return response


def _status_and_body(response: bytes) -> tuple[bytes, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def test_a_one_megabyte_query_string_is_answered_414_with_a_short_sentence(live_port: int):
    head = b"GET /?q=" + b"x" * 1_000_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"

    status, body = _status_and_body(exchange(live_port, head))

    assert status.startswith(b"HTTP/1.1 414 ")
    assert body.startswith(b"The address is too long")
    assert len(body) < 200


def test_a_one_megabyte_header_is_answered_431_with_a_short_sentence(live_port: int):
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + b"x" * 1_000_000 + b"\r\n\r\n"

    status, body = _status_and_body(exchange(live_port, head))

    assert status.startswith(b"HTTP/1.1 431 ")
    assert body.startswith(b"The request's headers are too long")
    assert len(body) < 200


def test_the_longest_search_a_person_can_type_is_read_even_in_small_pieces(live_port: int):
    # 2,000 characters (the search box's limit) of a script with three UTF-8 bytes each:
    # about 18 kB once percent-encoded, arriving as a slow network delivers it.
    query = quote("検" * 2000)
    head = f"GET /?q={query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()

    status, _ = _status_and_body(exchange(live_port, head, piece=1400))

    assert status == b"HTTP/1.1 200 OK"


def test_every_launch_of_the_web_server_answers_long_heads():
    root = Path(__file__).resolve().parent.parent
    launches = [root / "infra" / "Dockerfile", root / "localdev" / "run.py", root / "tests" /
                "live.py"]  # fmt: skip

    for launch in launches:
        assert "saas.http_protocol:HttpProtocol" in launch.read_text(), launch
