from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.db import connection
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name


class OrganizationAuthenticationBackend(AuthenticationBackend):
    """allauth's backend, but only inside an organization: its tables live in tenant
    schemas, so on the public site (the platform admin) it has nothing to look at."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        if connection.schema_name == get_public_schema_name():
            return None
        return super().authenticate(request, **credentials)
