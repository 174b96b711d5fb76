"""One sequence per organization's schema for every table's ids, instead of a sequence per table.

Django makes each automatic primary key an identity column, and PostgreSQL gives each
identity column a sequence of its own: a relation and an 8 KiB file per table, 37 of them
per organization, most never used in an organization that never connects Slack or a source.
After every migrate in an organization's schema (the post-migrate signal, so new models'
identity columns are caught in the same transaction), each identity column becomes a plain
column whose default is `nextval('<schema>.ids')`; the sequence starts past every id any
identity sequence had handed out, so no id is ever handed out twice in a table.

Ids are then unique across the schema's tables, not dense within one: nothing here reads
meaning into an id's size. The public schema keeps Django's identity columns.
`tenants.schema_clone` gives each copy a sequence of its own, where the template left it.
"""

from typing import Any

from django.db import connections
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from tenants.schema_clone import SCHEMA_RELATIONS

SEQUENCE = "ids"

# Through schema_clone's SCHEMA_RELATIONS (pg_depend's index), not a filter on
# pg_class.relnamespace, which no index leads with: this runs in every schema a migration
# reaches, and pg_class holds every organization's relations.
IDENTITY_COLUMNS = (
    SCHEMA_RELATIONS
    + """
SELECT c.relname, a.attname FROM relations c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relkind = 'r' AND a.attnum > 0 AND a.attidentity <> '' AND NOT a.attisdropped
ORDER BY c.relname
"""
)


def schema_ids_share(*, schema_name: str, using: str = "default") -> int:
    """Move the identity columns of `schema_name` onto its one `ids` sequence; the number of
    columns moved (0 when there were none, so running it again costs one catalog query)."""
    with connections[using].cursor() as cursor:
        cursor.execute(IDENTITY_COLUMNS, {"schema": schema_name})
        columns = cursor.fetchall()
        if not columns:
            return 0
        sequence = sql.Identifier(schema_name, SEQUENCE)
        cursor.execute(sql.SQL("CREATE SEQUENCE IF NOT EXISTS {} AS bigint").format(sequence))
        # Past every id handed out so far: the identity sequences' last values (ids of rows
        # since deleted included), the rows' ids, and what the shared sequence already gave.
        handed_out = [
            sql.SQL(
                "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence({}, {})), 0)"
            ).format(sql.Literal(f'"{schema_name}"."{table}"'), sql.Literal(column))
            for table, column in columns
        ] + [
            sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
                sql.Identifier(column), sql.Identifier(schema_name, table)
            )
            for table, column in columns
        ]
        cursor.execute(
            sql.SQL(
                "SELECT setval({sequence}::regclass, greatest(({shared}), {handed_out}) + 1, false)"
            ).format(
                sequence=sql.Literal(f'"{schema_name}"."{SEQUENCE}"'),
                shared=sql.SQL(
                    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {}"
                ).format(sequence),
                handed_out=sql.SQL(", ").join(
                    sql.SQL("({})").format(query) for query in handed_out
                ),
            )
        )
        for table, column in columns:
            cursor.execute(
                sql.SQL(
                    "ALTER TABLE {table} ALTER COLUMN {column} DROP IDENTITY,"
                    " ALTER COLUMN {column} SET DEFAULT nextval({sequence}::regclass)"
                ).format(
                    table=sql.Identifier(schema_name, table),
                    column=sql.Identifier(column),
                    sequence=sql.Literal(f'"{schema_name}"."{SEQUENCE}"'),
                )
            )
    return len(columns)


def ids_share_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver (tenants.apps): organizations' schemas only."""
    connection = connections[using]
    schema_name = getattr(connection, "schema_name", None)
    if schema_name and schema_name != get_public_schema_name():
        schema_ids_share(schema_name=schema_name, using=using)
