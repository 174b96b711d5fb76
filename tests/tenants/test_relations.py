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
