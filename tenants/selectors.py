from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from tenants.models import Organization


def organization_list_for_email(*, email: str) -> QuerySet[Organization]:
    return Organization.objects.filter(
        directory_entries__email=email.strip().lower(), is_template=False
    ).prefetch_related("domains")


def organization_list_served() -> QuerySet[Organization]:
    """Every customer organization: neither the public site's row nor the template."""
    return Organization.objects.exclude(schema_name=get_public_schema_name()).filter(
        is_template=False
    )
