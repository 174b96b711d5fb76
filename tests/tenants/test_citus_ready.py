"""The path past one database stays open (issue 26): nothing ties one organization's schema
to another's, so Citus can place each schema whole on a node of its own."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.models import Organization
from tests.schema_guard import CROSSINGS, SchemaCrossing


def test_no_foreign_key_leaves_an_organization_schema(org_a: Organization) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT con.conname, own.nspname, other.nspname
            FROM pg_constraint con
            JOIN pg_class r ON r.oid = con.conrelid
            JOIN pg_namespace own ON own.oid = r.relnamespace
            JOIN pg_class f ON f.oid = con.confrelid
            JOIN pg_namespace other ON other.oid = f.relnamespace
            WHERE con.contype = 'f' AND own.nspname <> other.nspname
            """
        )
        crossing = cursor.fetchall()
    assert crossing == []


def test_a_statement_reading_another_organization_fails(
    org_a: Organization, org_b: Organization
) -> None:
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "workspaces_document"')
        with pytest.raises(SchemaCrossing, match=org_b.schema_name):
            cursor.execute(f'SELECT count(*) FROM "{org_b.schema_name}"."workspaces_document"')  # noqa: S608
    CROSSINGS.clear()


def test_a_join_with_a_public_table_not_fit_to_copy_fails(org_a: Organization) -> None:
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM "tenants_organization"')
        with pytest.raises(SchemaCrossing, match="billing_billingaccount"):
            cursor.execute(
                'SELECT count(*) FROM "workspaces_workspace" CROSS JOIN "billing_billingaccount"'
            )
    CROSSINGS.clear()
