"""Scopes: what a key may do at all (read, ask, ingest), before the access policy decides
on which workspaces. A signed-in person is limited by the policy alone."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.models import ApiKey, Scope


def required_scope(view: Any, request: Request) -> str:
    scopes: dict[str, str] = getattr(view, "scopes", {})
    return scopes.get(request.method or "GET", Scope.READ)


class KeyHasScope(BasePermission):
    message = "This API key does not have the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        scope = required_scope(view, request)
        if scope in key.scopes:
            return True
        self.message = (
            f"This API key does not have the “{scope}” scope this request needs; "
            f"it has: {', '.join(key.scopes)}."
        )
        return False
