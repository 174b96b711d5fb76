from django.db.models import QuerySet

from tenants.models import Organization


def organization_list_for_email(*, email: str) -> QuerySet[Organization]:
    return Organization.objects.filter(
        directory_entries__email=email.strip().lower(), is_template=False
    ).prefetch_related("domains")
