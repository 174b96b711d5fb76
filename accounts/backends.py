from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.http import HttpRequest

from tenants.schemas import schema_is_public


class OrganizationAuthenticationBackend(AuthenticationBackend):
    """allauth's backend, but only inside an organization: its tables live in tenant
    schemas, so on the public site (the platform admin) it has nothing to look at."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        if schema_is_public():
            return None
        return super().authenticate(request, **credentials)
