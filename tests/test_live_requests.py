"""Bad input that only shows against the real server (uvicorn in its own process): signups
racing for one address, and an upload too large to be read."""

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import OWNER_PASSWORD
from tests.live import free_port, uvicorn_running

MAX_REQUEST_BYTES = 4_000_000  # over Django's 2.5 MB for a form, under 5 MB


@pytest.fixture(scope="module")
def live_port(django_db_setup: None) -> Iterator[int]:
    port = free_port()
    with uvicorn_running(port, MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES)):
        yield port


def test_six_simultaneous_signups_for_one_address_one_wins_the_rest_get_a_form_error(
    live_port: int,
):
    start = threading.Barrier(6)
    outcomes: list[tuple[int, str]] = []

    def sign_up(n: int) -> None:
        with httpx.Client(base_url=f"http://localhost:{live_port}", timeout=60) as browser:
            form = browser.get("/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
            assert token is not None
            data = {
                "csrfmiddlewaretoken": token.group(1),
                "name": "Race Co",
                "slug": "race-co",
                "email": f"founder{n}@race.example",
                "password": "a-racing-password-42",
            }
            start.wait()
            response = browser.post("/", data=data)
            outcomes.append((response.status_code, response.text))

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [303, 400, 400, 400, 400, 400]
    for status, text in outcomes:
        assert status == 303 or "taken" in text


def raw_request(port: int, head: str, body: bytes) -> tuple[bytes, float]:
    """Send `head`, then `body` from another thread while reading: the response, and how
    long it took to arrive after the head."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:

        def send_body() -> None:
            with contextlib.suppress(OSError):  # answered and closed before reading it all
                conn.sendall(body)

        started = time.monotonic()
        conn.sendall(head.encode())
        sender = threading.Thread(target=send_body)
        sender.start()
        response = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                response += chunk
        seconds = time.monotonic() - started
        sender.join()
        return response, seconds


def test_a_100_mb_upload_is_refused_before_its_body_is_read(live_port: int):
    declared = 100 * 1024 * 1024
    head = (
        "POST /w/handbook/upload/ HTTP/1.1\r\nHost: alpha.localhost\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )

    # Only 64 kB of the declared 100 MB are sent: an answer proves nothing more was awaited.
    response, seconds = raw_request(live_port, head, b"x" * 65536)

    assert response.startswith(b"HTTP/1.1 413")
    assert b"This upload is too large" in response
    assert seconds < 5


def test_a_chunked_upload_is_cut_off_once_past_the_limit(live_port: int):
    head = (
        "POST /w/handbook/upload/ HTTP/1.1\r\nHost: alpha.localhost\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 100_000
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 50 + b"0\r\n\r\n"  # 5 MB

    response, _ = raw_request(live_port, head, body)

    assert response.startswith(b"HTTP/1.1 413")
    assert b"at most 3 MB" in response


def test_a_form_over_the_size_limit_gets_a_page_that_says_so_and_keeps_the_session(
    live_port: int,
):
    # Python does not resolve *.localhost as browsers do: the loopback address, and the
    # organization's host in the header.
    site, host = f"http://127.0.0.1:{live_port}", {"Host": f"alpha.localhost:{live_port}"}
    with httpx.Client(base_url=site, headers=host, timeout=60) as browser:
        login = browser.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)
        assert token is not None
        signed_in = browser.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token.group(1), "login": "owner@alpha.example",
                  "password": OWNER_PASSWORD},
        )  # fmt: skip
        assert signed_in.status_code == 302
        page = browser.get("/members/groups/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None

        # 3 MB of text, over Django's 2.5 MB for a form without files.
        response = browser.post(
            "/members/groups/new/",
            data={"csrfmiddlewaretoken": token.group(1), "name": "x" * 3_000_000},
        )

        assert response.status_code == 413
        assert "The form was too large to send" in response.text
        assert "sessionid" not in response.headers.get("set-cookie", "")
        assert browser.get("/members/groups/").status_code == 200
