"""Migration members 0006 on a real organization's schema: a single sign-on client secret
stored in clear before the release is encrypted (accounts.secrets_at_rest) when the schema is
migrated, and migrating back gives the clear value again.

The organization is committed (migrate_schemas migrates its schema on connections of its
own): members is migrated back to 0005 in its schema, as an organization from before the
release is, then forward; the organization is deleted at the end."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import tenant_context

from members.actions.signup import organization_signup
from members.models import IdentityProvider
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD, make_identity_provider


@pytest.fixture
def organization(django_db_setup: None, django_db_blocker: Any) -> Iterator[Organization]:
    with django_db_blocker.unblock():
        organization, _ = organization_signup(
            name="Secret Migrate Co", slug="secret-migrate", owner_email="owner@secret.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        schema_public_activate()
        try:
            yield organization
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _migrate(organization: Organization, target: str | None) -> None:
    call_command(
        "migrate_schemas", "members", *([target] if target else []),
        schema_name=organization.schema_name, interactive=False, verbosity=0,
    )  # fmt: skip
    schema_public_activate()


def _stored(organization: Organization, column: str) -> str:
    table = f'"{organization.schema_name}".members_identityprovider'
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 (names, not input)
        (value,) = cursor.fetchone()
    return str(value)


def test_a_client_secret_stored_in_clear_is_encrypted_by_the_migration_and_back(
    organization: Organization, django_db_blocker: Any
):
    with django_db_blocker.unblock():
        with tenant_context(organization):
            make_identity_provider(client_secret="clear-secret-of-before")
        schema_public_activate()

        _migrate(organization, "0005_fewer_indexes")
        before = _stored(organization, "client_secret")
        _migrate(organization, None)
        after = _stored(organization, "client_secret_encrypted")
        with tenant_context(organization):
            opened = IdentityProvider.objects.get().client_secret
        schema_public_activate()

    assert before == "clear-secret-of-before"
    assert after.startswith("env1:") and "clear-secret" not in after
    assert opened == "clear-secret-of-before"
