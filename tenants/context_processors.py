from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tenants.models import Organization
from tenants.schemas import tenant_current


def organization(request: HttpRequest) -> dict[str, Any]:
    tenant = tenant_current()
    is_org = isinstance(tenant, Organization) and tenant.schema_name != "public"
    return {"organization": tenant if is_org else None, "base_domain": settings.BASE_DOMAIN}
