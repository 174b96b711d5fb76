"""RFC 9457 problem details for every error of the API: `application/problem+json` with
type, title, status and a readable detail; validation errors add `errors` per field.

DRF's own handler does the mapping to statuses (and sets WWW-Authenticate and Retry-After);
this one reshapes the body. The product's refusals (a workspace rule, a plan cap, a refused
question) become 4xx here as well, so no view has to remember to catch them."""

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from assistant.conversations import QuestionRefused
from billing.caps import CapReached
from connectors.services import ConnectorError
from workspaces.services import WorkspaceError

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Relative URI references (RFC 9457 §3.1.1); the API's docs page describes each.
PROBLEM_TYPES = {
    exceptions.ValidationError: "validation-error",
    exceptions.ParseError: "malformed-request",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "invalid-key",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.NotAcceptable: "not-acceptable",
    exceptions.Throttled: "rate-limited",
}


class Refused(exceptions.APIException):
    """A refusal of the product's rules (a duplicate upload, a question too long)."""

    status_code = 400
    default_code = "refused"


class CapRefused(exceptions.APIException):
    status_code = 403
    default_code = "cap-reached"


def problem_type(slug: str) -> str:
    return f"/api/v1/problems/{slug}"


def _sentence(detail: Any) -> str:
    if isinstance(detail, dict):
        return " ".join(
            f"{field}: {_sentence(value)}" if field != "non_field_errors" else _sentence(value)
            for field, value in detail.items()
        )
    if isinstance(detail, list):
        return " ".join(_sentence(item) for item in detail)
    return str(detail)


def _messages(detail: Any) -> list[str]:
    """Every message under one field, as sentences: a list item's (or a nested field's)
    messages say which item they are about."""
    if isinstance(detail, dict):
        return [
            f"{_position(key)}: {message}"
            for key, value in detail.items()
            for message in _messages(value)
        ]
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


def _position(key: Any) -> str:
    return f"item {int(key) + 1}" if isinstance(key, int) or str(key).isdigit() else str(key)


def _field_errors(detail: Any) -> dict[str, list[str]]:
    """Validation errors as the schema documents them: each field's messages, a list of
    strings (a list field's items and a nested field's errors are folded into sentences)."""
    if not isinstance(detail, dict):
        return {"non_field_errors": _messages(detail)}
    return {str(field): _messages(value) for field, value in detail.items()}


def _translated(exc: Exception) -> Exception:
    if isinstance(exc, WorkspaceError | QuestionRefused | ConnectorError):
        return Refused(str(exc))
    if isinstance(exc, CapReached):
        return CapRefused(f"{exc.summary} Ask an owner or billing admin to upgrade the plan.")
    if isinstance(exc, Http404):
        return exceptions.NotFound("Not found, or not readable with these credentials.")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _translated(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handling and logging take over
    status = response.status_code
    slug = next((slug for kind, slug in PROBLEM_TYPES.items() if isinstance(exc, kind)), None)
    if isinstance(exc, Refused | CapRefused):
        slug = exc.default_code
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": _sentence(response.data.get("detail", response.data))
        if isinstance(response.data, dict)
        else _sentence(response.data),
    }
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        body["title"] = "Your request has invalid fields"
        body["detail"] = " ".join(
            message if field == "non_field_errors" else f"{field}: {message}"
            for field, messages in errors.items()
            for message in messages
        )
        body["errors"] = errors
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(response.headers["Retry-After"])
    problem = Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    return problem
