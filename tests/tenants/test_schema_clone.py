from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from tenants import schema_clone
from tenants.models import Organization

CATALOG = """
SELECT 'table', c.relname FROM pg_class c
 WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'
UNION ALL
SELECT 'index', c.relname FROM pg_class c
 WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'i'
UNION ALL
SELECT 'constraint ' || k.contype::text, k.conname FROM pg_constraint k
 WHERE k.connamespace = %(schema)s::regnamespace
"""

CLONE_QUERIES = [
    (name, getattr(schema_clone, name))
    for name in (
        "TEMPLATE_TABLES", "UNSUPPORTED_OBJECTS", "CONSTRAINTS", "INDEXES", "SEQUENCES",
        "DEFAULTS_FROM_SEQUENCES",
    )
]  # fmt: skip


def catalog(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(CATALOG, {"schema": schema})
        return set(cursor.fetchall())


def test_a_new_organizations_schema_matches_the_template_object_for_object(org_a: Organization):
    template = catalog(settings.ORGANIZATION_TEMPLATE_SCHEMA)

    assert catalog(org_a.schema_name) == template
    assert ("table", "accounts_user") in template
    assert any(kind == "constraint f" for kind, _ in template)


def test_a_cloned_schema_keeps_its_migration_history_and_numbering(org_a: Organization):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        (migrations,) = cursor.fetchone()
    content_type = ContentType.objects.get_for_model(Organization)

    # A copied row's id must not be handed out again by the identity sequence.
    permission = Permission.objects.create(
        name="Can audit", codename="audit_organization", content_type=content_type
    )

    assert migrations > 10
    assert permission.pk > Permission.objects.exclude(pk=permission.pk).order_by("-pk")[0].pk


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.parametrize("query", CLONE_QUERIES, ids=lambda query: query[0])
def test_the_clone_reads_no_catalog_whole(query: tuple[str, str], org_a: Organization):
    """Each organization adds about two hundred rows to pg_class and more to pg_constraint,
    pg_index and pg_depend, so a catalog the copy reads whole makes every signup slower
    than the last: each of its queries must reach the template's rows through an index.
    With sequential scans priced out, a plan that still has one has no index to use."""
    _, text = query
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN (FORMAT JSON) " + text, {"schema": settings.ORGANIZATION_TEMPLATE_SCHEMA}
        )
        (explained,) = cursor.fetchone()

    scans = [
        node["Relation Name"]
        for node in plan_nodes(explained[0]["Plan"])
        if node["Node Type"] == "Seq Scan"
    ]
    assert scans == []
