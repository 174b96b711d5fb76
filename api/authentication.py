"""`Authorization: Bearer <key>`: the request acts as the key's service account."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from api.selectors import api_key_find
from api.services import api_key_touch


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None  # no key: a signed-in session may still authenticate the request
        if len(header) != 2:
            raise AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("That is not an API key of this organization.") from None
        key = api_key_find(secret=secret)
        if key is None:
            raise AuthenticationFailed("That is not an API key of this organization.")
        if key.revoked_at is not None:
            raise AuthenticationFailed("This API key has been revoked.")
        if key.is_expired:
            raise AuthenticationFailed("This API key has expired.")
        api_key_touch(key=key)
        return key.service_account, key

    def authenticate_header(self, request: Request) -> str:
        # Makes an unauthenticated request a 401 (with this challenge), not a 403.
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from Members → API keys: `Authorization: Bearer ka_…`.",
        }
