from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import audit_prune_all


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS in every organization."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = audit_prune_all()
        self.stdout.write(
            f"Deleted {deleted} audit events older than {settings.AUDIT_RETENTION_DAYS} days."
        )
