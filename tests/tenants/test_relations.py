"""What an organization's schema costs: the relation count that `schema_relations` prints."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.models import Organization
from tenants.relations import schema_relations

EVERY_RELATION = """
SELECT count(*) FROM pg_class c
WHERE c.relnamespace = %(schema)s::regnamespace
   OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = %(schema)s::regnamespace)
   OR c.oid IN (SELECT x.indexrelid FROM pg_index x JOIN pg_class t ON t.reltoastrelid = x.indrelid
                WHERE t.relnamespace = %(schema)s::regnamespace)
"""


def test_every_relation_of_an_organization_is_counted_once_under_an_app(org_a: Organization):
    with connection.cursor() as cursor:
        cursor.execute(EVERY_RELATION, {"schema": org_a.schema_name})
        (in_catalog,) = cursor.fetchone()

    figures = schema_relations(schema_name=org_a.schema_name)

    assert figures["relations"] == in_catalog
    assert sum(app["relations"] for app in figures["by_app"].values()) == in_catalog
    assert sum(figures["by_kind"].values()) == in_catalog
    assert figures["by_app"]["workspaces"]["table"] >= 5
    assert figures["bytes"] > 0


def test_schema_relations_prints_json_and_refuses_an_unknown_schema(org_a: Organization):
    out = StringIO()

    call_command("schema_relations", schema=org_a.schema_name, stdout=out)

    assert json.loads(out.getvalue())["schema"] == org_a.schema_name
    with pytest.raises(CommandError, match="no schema called 'org_nowhere'"):
        call_command("schema_relations", schema="org_nowhere")


# Index pairs on one table where the first's columns (with their operator classes) lead the
# second's: the second serves every lookup the first would.
COVERED_INDEXES = """
SELECT t.relname, i.relname, j.relname
FROM pg_index x JOIN pg_index y ON y.indrelid = x.indrelid AND y.indexrelid <> x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class j ON j.oid = y.indexrelid
WHERE t.relnamespace = %(schema)s::regnamespace
  AND NOT x.indisunique AND x.indpred IS NULL AND x.indexprs IS NULL AND y.indpred IS NULL
  AND i.relam = j.relam
  AND (y.indkey::int2[])[0:array_length(x.indkey::int2[], 1) - 1] = x.indkey::int2[]
  AND (y.indclass::oid[])[0:array_length(x.indclass::oid[], 1) - 1] = x.indclass::oid[]
ORDER BY 1, 2
"""
PATTERN_INDEXES = """
SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_opclass o ON o.oid = ANY(x.indclass::oid[])
WHERE i.relnamespace = %(schema)s::regnamespace AND o.opcname LIKE '%%pattern_ops'
"""
SEQUENCES = """
SELECT relname FROM pg_class WHERE relnamespace = %(schema)s::regnamespace AND relkind = 'S'
"""


def rows(query: str, schema: str) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, {"schema": schema})
        return cursor.fetchall()


def test_no_index_of_an_organization_is_served_by_another_that_leads_with_its_columns(
    org_a: Organization,
):
    # A foreign key whose column leads a unique constraint or an index: db_index=False.
    assert rows(COVERED_INDEXES, org_a.schema_name) == []


def test_an_organization_has_no_index_only_like_queries_would_use(org_a: Organization):
    # Django adds a varchar_pattern_ops copy of every unique or indexed CharField; nothing
    # queries with LIKE 'x%', so a migration drops them (accounts 0003 and its kin).
    assert rows(PATTERN_INDEXES, org_a.schema_name) == []


def test_an_organizations_tables_draw_their_ids_from_one_sequence(org_a: Organization):
    assert rows(SEQUENCES, org_a.schema_name) == [("ids",)]
