"""Re-encrypt every organization's source credentials under the first key of
CONNECTOR_SECRET_KEYS, after a new key was put first; then the old key can be dropped."""

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import get_public_schema_name, tenant_context

from connectors.credentials import credentials_rotate
from tenants.models import Organization


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        for organization in Organization.objects.exclude(schema_name=get_public_schema_name()):
            with tenant_context(organization):
                rotated += credentials_rotate()
        self.stdout.write(f"Re-encrypted the credentials of {rotated} sources.")
