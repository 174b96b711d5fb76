"""Every statement the tests run keeps the path to Citus open (issue 26; docs/architecture.md,
"Past one database").

Citus schema-based sharding places each organization's schema whole on one worker node and
turns the public schema's tables into reference tables, copied to every node. A statement may
then read one organization's schema together with reference tables, never two
organizations' schemas, and every write to a reference table is a write on every node. So,
while an organization's schema is in force:

- a statement naming another schema than its own or public fails;
- a statement joining the organization's tables with a public table fails unless that table
  is in JOINABLE_PUBLIC_TABLES: small, rarely written, fit to be copied to every node.

Schema management (DDL, the catalogs) is the executor's and signup's business and is not
checked. The guard is installed on every connection of the test session (tests/conftest.py),
so a test that runs such a statement fails with the statement named.
"""

import re
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created

from tenants.services import organization_schema_name

# Public tables an organization's statements may join: read on every request, written when an
# organization or its plan changes (reference tables in Citus). Empty: no statement of the
# product joins one today (the whole test suite, 2026-12-06); a join that needs one adds it
# here with its reason.
JOINABLE_PUBLIC_TABLES: frozenset[str] = frozenset()

IDENTIFIER = re.compile(
    r'"([^"]+)"(?:\s*\.\s*"([^"]+)")?|\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b'
)
DML = re.compile(r"^\s*(?:\(\s*)*(?:select|insert|update|delete|with)\b", re.IGNORECASE)
# Schemas that hold an organization (the template's too); a name before a dot that is none of
# these and not public is a table's alias.
ORGANIZATION_SCHEMAS = (organization_schema_name(slug=""), settings.ORGANIZATION_TEMPLATE_SCHEMA)
CATALOG = re.compile(r"\b(?:pg_catalog|information_schema|pg_[a-z_]+)\b", re.IGNORECASE)


class SchemaCrossing(AssertionError):
    pass


# What the guard refused since the current test began (a refusal inside code that catches
# every exception still fails the test: tests/conftest.py reads this after each test).
CROSSINGS: list[str] = []


def _tables(app_labels: list[str]) -> set[str]:
    tables: set[str] = set()
    for config in apps.get_app_configs():
        if config.name not in app_labels:
            continue
        for model in config.get_models(include_auto_created=True):
            tables.add(model._meta.db_table)
    return tables


def _table_sets() -> tuple[set[str], set[str]]:
    """(tables in every organization's schema, tables in the public schema only)."""
    tenant = _tables(list(settings.TENANT_APPS))
    public_only = _tables(list(settings.SHARED_APPS)) - tenant
    return tenant, public_only


def crossing(sql: str, *, schema: str, tenant: set[str], public_only: set[str]) -> str | None:
    """Why this statement, run with `schema` in force, would not survive the move to Citus,
    or None."""
    if not DML.match(sql) or CATALOG.search(sql):
        return None
    tenant_used: set[str] = set()
    public_used: set[str] = set()
    for quoted, quoted_table, bare_schema, bare_table in IDENTIFIER.findall(sql):
        if quoted_table or bare_schema:
            named_schema = quoted if quoted_table else bare_schema
            table = quoted_table or bare_table
            if named_schema == "public":
                if table in public_only or table in tenant:
                    public_used.add(table)
                continue
            if named_schema.startswith(ORGANIZATION_SCHEMAS) and named_schema != schema:
                return f"names schema {named_schema!r} while {schema!r} is in force"
            if named_schema == schema and table in tenant:
                tenant_used.add(table)
            continue
        if quoted in tenant:
            tenant_used.add(quoted)
        elif quoted in public_only:
            public_used.add(quoted)
    unjoinable = public_used - JOINABLE_PUBLIC_TABLES
    if tenant_used and unjoinable:
        return (
            f"joins the organization's {sorted(tenant_used)} with public "
            f"{sorted(unjoinable)} (not in JOINABLE_PUBLIC_TABLES)"
        )
    return None


def guard_install() -> Callable[[], None]:
    """Check every statement of every connection from now on; returns the uninstaller."""
    tenant, public_only = _table_sets()

    def check(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        connection = context["connection"]
        schema = getattr(connection, "schema_name", "public")
        if schema != "public" and isinstance(sql, str):
            reason = crossing(sql, schema=schema, tenant=tenant, public_only=public_only)
            if reason:
                CROSSINGS.append(f"A statement {reason}: {sql[:500]}")
                raise SchemaCrossing(CROSSINGS[-1])
        return execute(sql, params, many, context)

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if check not in connection.execute_wrappers:
            connection.execute_wrappers.append(check)

    connection_created.connect(created, weak=False)
    for connection in connections.all(initialized_only=True):
        created(None, connection)

    def uninstall() -> None:
        connection_created.disconnect(created)
        for connection in connections.all(initialized_only=True):
            if check in connection.execute_wrappers:
                connection.execute_wrappers.remove(check)

    return uninstall
