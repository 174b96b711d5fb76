"""Re-encrypt every stored secret of every organization (sources' credentials, Slack bot
tokens, single sign-on client secrets: the columns accounts.secrets_at_rest knows) under the
key-encryption key in force, each with a new data key. Run it after the Cloud KMS key made a
new primary version, after SECRETS_KEYSET got a new primary key, after moving from one kind of
key to another, and once after upgrading from the Fernet keys of before; then the old key
(version) can be disabled. A value that cannot be read is left as it is and counted."""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, tenant_context

from accounts.secrets_at_rest import (
    SEALED_COLUMNS,
    KeyServiceUnavailable,
    SecretUnreadable,
    sealed_value_replace,
    sealed_values,
    secret_reseal,
)
from tenants.models import Organization


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        rotated: Counter[str] = Counter()
        unreadable: list[str] = []
        organizations = Organization.objects.exclude(schema_name=get_public_schema_name())
        for organization in organizations.order_by("schema_name"):
            with tenant_context(organization):
                for column in SEALED_COLUMNS.values():
                    for pk, sealed in sealed_values(column):
                        try:
                            fresh = secret_reseal(sealed, purpose=column.purpose)
                        except KeyServiceUnavailable as refusal:
                            raise CommandError(
                                f"{refusal} Re-encrypted {sum(rotated.values())} secrets before "
                                "it stopped; run the command again (what is done is kept)."
                            ) from None
                        except SecretUnreadable:
                            unreadable.append(f"{organization.slug}: {column.model} {pk}")
                            continue
                        if sealed_value_replace(column, pk=pk, old=sealed, new=fresh):
                            rotated[column.model] += 1
        counts = ", ".join(
            f"{rotated[column.model]} {column.model}" for column in SEALED_COLUMNS.values()
        )
        self.stdout.write(f"Re-encrypted {sum(rotated.values())} secrets ({counts}).")
        if unreadable:
            self.stdout.write(
                f"{len(unreadable)} could not be read with the configured keys and were left as "
                "they are (whoever entered them must enter them again): " + "; ".join(unreadable)
            )
