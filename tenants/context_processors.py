from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from tenants.models import Organization


def organization(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(connection, "tenant", None)
    is_org = isinstance(tenant, Organization) and tenant.schema_name != "public"
    return {"organization": tenant if is_org else None, "base_domain": settings.BASE_DOMAIN}
