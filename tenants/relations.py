"""What one schema costs the database: its relations (tables, indexes, sequences and the TOAST
tables and TOAST indexes that PostgreSQL keeps beside a table in `pg_toast`), per app and per
kind, and their bytes on disk.

Every relation is a row in pg_class, a file (or several) on disk, and an entry a backend
caches once it touches it; at ten thousand organizations the per-schema count is what the
catalog and each connection's memory grow by. `manage.py schema_relations` prints it.
"""

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db import connection

KINDS = ("table", "index", "sequence", "toast")

# Each relation of the schema with the table it belongs to. A sequence belongs to the table
# whose column owns it (an identity column, or OWNED BY); a TOAST table and its index live
# in pg_toast, so they are found through the table, not the namespace.
SCHEMA_RELATIONS = """
WITH owned AS (
    SELECT c.oid, c.relname AS owner, 'table' AS kind
    FROM pg_class c
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
  UNION ALL
    SELECT x.indexrelid, c.relname, 'index'
    FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
    WHERE c.relnamespace = %(schema)s::regnamespace
  UNION ALL
    SELECT s.oid, coalesce(t.relname, s.relname), 'sequence'
    FROM pg_class s
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_class t ON t.oid = d.refobjid
    WHERE s.relnamespace = %(schema)s::regnamespace AND s.relkind = 'S'
  UNION ALL
    SELECT c.reltoastrelid, c.relname, 'toast'
    FROM pg_class c
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.reltoastrelid <> 0
  UNION ALL
    SELECT x.indexrelid, c.relname, 'toast'
    FROM pg_class c JOIN pg_index x ON x.indrelid = c.reltoastrelid
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.reltoastrelid <> 0
)
SELECT owner, kind, count(*),
       sum(pg_relation_size(oid, 'main') + pg_relation_size(oid, 'fsm')
           + pg_relation_size(oid, 'vm') + pg_relation_size(oid, 'init'))
FROM owned GROUP BY owner, kind
"""


def table_apps() -> dict[str, str]:
    """Each model's table (automatic many-to-many tables included) and its app's label."""
    return {
        model._meta.db_table: model._meta.app_label
        for model in apps.get_models(include_auto_created=True)
    }


def schema_relations(*, schema_name: str) -> dict[str, Any]:
    """The relations of `schema_name`: total count and bytes, per kind, per app (per kind and
    bytes), and per table. A table no installed model names counts under its own name."""
    app_of = table_apps()
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA_RELATIONS, {"schema": schema_name})
        rows = cursor.fetchall()
    by_kind = dict.fromkeys(KINDS, 0)
    by_app: dict[str, dict[str, int]] = defaultdict(lambda: {**dict.fromkeys(KINDS, 0), "bytes": 0})
    by_table: dict[str, int] = defaultdict(int)
    for owner, kind, count, size in rows:
        app = app_of.get(owner, owner)
        by_kind[kind] += count
        by_app[app][kind] += count
        by_app[app]["bytes"] += int(size)
        by_table[owner] += count
    return {
        "schema": schema_name,
        "relations": sum(by_kind.values()),
        "bytes": sum(app["bytes"] for app in by_app.values()),
        "by_kind": by_kind,
        "by_app": {
            app: {"relations": sum(figures[kind] for kind in KINDS), **figures}
            for app, figures in sorted(by_app.items())
        },
        "by_table": dict(sorted(by_table.items())),
    }
