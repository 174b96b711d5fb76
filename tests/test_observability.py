"""Errors reach someone: each request's log line is JSON with its request id, organization and
user (Cloud Logging's shape), production settings log JSON, and with SENTRY_DSN set an error
reaches a Sentry server (here a local HTTP server speaking Sentry's envelope endpoint)."""

import gzip
import io
import json
import logging
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sentry_sdk
from django.test import Client

from accounts.models import User
from saas.celery import app
from saas.observability import CloudLoggingFormatter, RequestContextFilter, init_sentry
from tenants.models import Organization
from tests.conftest import signed_in
from tests.test_production_settings import manage


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger also writes through the production formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(CloudLoggingFormatter())
    root = logging.getLogger()
    # A Celery worker started in this process by an earlier test (celery.contrib.testing)
    # leaves the root logger at its own level; requests log at INFO, as in production.
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_requests_log_line_is_json_with_its_id_organization_and_user(
    org_a: Organization, owner_a: User, json_lines: io.StringIO, settings: Any
):
    settings.GOOGLE_CLOUD_PROJECT = "knowledge-prod"
    client: Client = signed_in(org_a, owner_a)

    response = client.get(
        "/",
        headers={
            "X-Request-ID": "req-4711",
            "X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1",
        },
    )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-4711"
    [line] = [r for r in _records(json_lines) if r.get("logger") == "saas.requests"]
    assert line["severity"] == "INFO"
    assert line["message"] == "GET / 200"
    assert line["time"].startswith("20") and line["time"].endswith("+00:00")
    assert line["request_id"] == "req-4711"
    assert line["organization"] == org_a.schema_name
    assert line["user_id"] == str(owner_a.pk)
    assert line["logging.googleapis.com/trace"] == (
        "projects/knowledge-prod/traces/105445aa7843bc8bf206b12000100000"
    )
    assert line["status"] == 200


def test_a_request_without_an_id_gets_one_and_an_unusable_id_is_replaced(
    org_a: Organization, owner_a: User, json_lines: io.StringIO
):
    client: Client = signed_in(org_a, owner_a)

    plain = client.get("/")
    odd = client.get("/", headers={"X-Request-ID": "x" * 300})

    assert len(plain["X-Request-ID"]) == 32
    assert len(odd["X-Request-ID"]) == 32 and odd["X-Request-ID"] != plain["X-Request-ID"]
    ids = [r["request_id"] for r in _records(json_lines) if r.get("logger") == "saas.requests"]
    assert ids == [plain["X-Request-ID"], odd["X-Request-ID"]]


def test_production_settings_log_one_json_object_a_line():
    result = manage(
        "shell", "--no-imports", "-c", "import logging; logging.getLogger('probe').warning('hi')"
    )

    assert result.returncode == 0, result.stderr
    [line] = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    assert line["severity"] == "WARNING" and line["message"] == "hi" and "time" in line


class _SentryServer(BaseHTTPRequestHandler):
    envelopes: list[list[dict[str, Any]]] = []
    received = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        items = []
        for raw in body.split(b"\n"):
            try:
                items.append(json.loads(raw))
            except ValueError:
                continue
        if self.path == "/api/42/envelope/":
            type(self).envelopes.append(items)
            type(self).received.set()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryServer)
    _SentryServer.envelopes = []
    _SentryServer.received = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/42"
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)  # back to no client for the next tests
        server.shutdown()
        server.server_close()


def test_an_error_reaches_sentry_without_personal_data(sentry_server: str):
    init_sentry(sentry_server, environment="test", release="r1", traces_sample_rate=0.0)

    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("assistant.tasks").exception("Answer failed for owner@alpha.example")
    sentry_sdk.flush(timeout=5)

    assert _SentryServer.received.wait(5), "no envelope reached the local Sentry server"
    events = [item for env in _SentryServer.envelopes for item in env if "exception" in item]
    [event] = events
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["environment"] == "test" and event["release"] == "r1"
    assert "user" not in event or not event["user"].get("ip_address")
    assert sentry_sdk.get_client().should_send_default_pii() is False
    integrations = event["sdk"]["integrations"]
    assert "django" in integrations and "celery" in integrations


def test_production_settings_without_a_dsn_start_no_sentry():
    probe = "import sentry_sdk; print(sentry_sdk.get_client().dsn)"

    result = manage("shell", "--no-imports", "-c", probe, SENTRY_DSN="")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None"]


@app.task(name="tests.observability_probe")
def _probe_task() -> None:
    logging.getLogger("workspaces.ingestion.tasks").info("Embedding one document")


def test_a_celery_tasks_log_line_names_its_organization_and_task(
    org_a: Organization, json_lines: io.StringIO
):
    _probe_task.apply()  # queued from organization A's schema, run in it

    [line] = [r for r in _records(json_lines) if r["message"] == "Embedding one document"]
    assert line["organization"] == org_a.schema_name
    assert line["task"] == "tests.observability_probe"
    assert line["request_id"]  # the task's id
