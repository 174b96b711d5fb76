"""migrate_schemas (tenants.schema_migrations) against the real PostgreSQL: organizations whose
schemas are behind because the latest migrations were unapplied there (assistant 0013,
a column, with integrations 0001 that depends on it; lifecycle 0001, a table), beside
organizations that are current.

These tests commit (the migrations run in forked processes, on connections of their own), so
they use no test transaction; the organizations they make are deleted at the end."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from psycopg import sql

from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schema_migrations import schema_names_behind
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SLUGS = ("mig-current", "mig-one", "mig-two", "mig-three")
COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = %s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2
"""
# Everything a migration makes in a schema, spelled without the schema's own name: columns
# (type, default, nullability, identity), constraints, indexes, and the rows migrate writes
# (history, content types, permissions).
SCHEMA_MADE = """
SELECT 'column', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attnotnull::text, a.attidentity::text
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'
  AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', c.relname, k.conname, pg_get_constraintdef(k.oid), '', '', ''
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = %(schema)s::regnamespace
UNION ALL
SELECT 'index', c.relname, i.relname, pg_get_indexdef(i.oid), '', '', ''
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relnamespace = %(schema)s::regnamespace
"""
SCHEMA_ROWS = """
SELECT 'migration', app, name FROM {schema}.django_migrations
UNION ALL
SELECT 'content type', app_label, model FROM {schema}.django_content_type
UNION ALL
SELECT 'permission', t.app_label || '.' || t.model, p.codename
FROM {schema}.auth_permission p JOIN {schema}.django_content_type t ON t.id = p.content_type_id
"""
# How often each schema's django_content_type was read: Django's migrate reads it in every
# schema it runs in (the post-migrate signal), the query for schemas behind never does.
CONTENT_TYPE_READS = """
SELECT schemaname, seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables
WHERE relname = 'django_content_type'
"""


@pytest.fixture(scope="module")
def schemas(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """Slug -> schema name of four new organizations, all current to begin with."""
    with django_db_blocker.unblock():
        organizations = [
            organization_signup(
                name=slug, slug=slug, owner_email=f"owner@{slug}.example",
                owner_password=OWNER_PASSWORD,
            )[0]
            for slug in SLUGS
        ]  # fmt: skip
        schema_public_activate()
        try:
            yield {organization.slug: organization.schema_name for organization in organizations}
        finally:
            schema_public_activate()
            for organization in organizations:
                Organization.objects.get(pk=organization.pk).delete(force_drop=True)


@pytest.fixture
def unblocked(django_db_blocker: Any, settings: Any) -> Iterator[None]:
    settings.MIGRATE_SCHEMAS_PROCESSES = 2
    with django_db_blocker.unblock():
        yield
        schema_public_activate()


def put_behind(schema: str) -> None:
    """Unapply the latest migration of two apps in `schema`, as a release that brings them
    would find it."""
    for app, target in (
        ("lifecycle", "zero"),
        ("assistant", "0012_gap_answered_by_later_document"),
    ):
        call_command(
            "migrate_schemas", app, target, schema_name=schema, interactive=False, verbosity=0
        )
    schema_public_activate()


def shape(schema: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every column of every relation in `schema`, and its recorded migrations."""
    with connection.cursor() as cursor:
        cursor.execute(COLUMNS, [schema])
        columns = cursor.fetchall()
        cursor.execute(
            sql.SQL("SELECT id, app, name, applied FROM {} ORDER BY id").format(
                sql.Identifier(schema, "django_migrations")
            )
        )
        return columns, cursor.fetchall()


def made(schema: str) -> list[tuple[str, ...]]:
    """SCHEMA_MADE and SCHEMA_ROWS of `schema`, sorted, its name replaced by "<schema>"."""
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA_MADE, {"schema": schema})
        rows = cursor.fetchall()
        cursor.execute(sql.SQL(SCHEMA_ROWS).format(schema=sql.Identifier(schema)))
        rows += cursor.fetchall()
    return sorted(tuple(str(value).replace(schema, "<schema>") for value in row) for row in rows)


def database_now() -> Any:
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def content_type_reads(*, since: Any) -> dict[str, int]:
    """Per schema, once every backend that connected since `since`, and this test's own,
    has ended: a backend hands its statistics over when it exits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    connections.close_all()
    backends_gone(since=since, pid=own)
    with connection.cursor() as cursor:
        cursor.execute(CONTENT_TYPE_READS)
        return dict(cursor.fetchall())


def backends_gone(*, since: Any, pid: int = 0) -> None:
    """Wait until the backends that connected to the test database since `since` (and
    `pid`) have ended; those of other tests, left idle, are not waited for."""
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND (backend_start >= %s OR pid = %s)",
                [since, pid],
            )
            if cursor.fetchone() == (0,):
                return
            time.sleep(0.2)
    raise AssertionError("the migration's connections did not end within a minute")


def all_schemas() -> list[str]:
    return list(
        Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    )


def test_only_the_schemas_behind_are_migrated_and_the_others_are_not_read(
    schemas: dict[str, str], unblocked: None
) -> None:
    behind = [schemas["mig-one"], schemas["mig-two"]]
    for schema in behind:
        put_behind(schema)
    current = [schema for schema in all_schemas() if schema not in behind]
    history_before = {schema: shape(schema)[1] for schema in current}
    reads_before = content_type_reads(since=database_now())
    started = database_now()

    call_command("migrate_schemas", interactive=False, verbosity=1)

    reads_after = content_type_reads(since=started)
    assert sorted(schema_names_behind(schema_names=all_schemas(), using="default")) == []
    assert {schema: reads_after[schema] for schema in current} == {
        schema: reads_before[schema] for schema in current
    }
    assert all(reads_after[schema] > reads_before[schema] for schema in behind)
    assert {schema: shape(schema)[1] for schema in current} == history_before
    assert settings.ORGANIZATION_TEMPLATE_SCHEMA in current


def test_schemas_migrated_here_hold_what_djangos_own_migrate_makes(
    schemas: dict[str, str], unblocked: None, settings: Any
) -> None:
    # One process for both of ours, so that the second is migrated from the first one's
    # cached state.
    settings.MIGRATE_SCHEMAS_PROCESSES = 1
    ours = [schemas["mig-one"], schemas["mig-three"]]
    djangos = schemas["mig-two"]
    for schema in [*ours, djangos]:
        put_behind(schema)
    before = made(djangos)

    call_command(
        "migrate_schemas", executor="standard", schema_name=djangos, interactive=False,
        verbosity=0,
    )  # fmt: skip
    call_command("migrate_schemas", interactive=False, verbosity=0)

    assert made(djangos) != before
    assert [made(schema) for schema in ours] == [made(djangos), made(djangos)]
    assert schema_names_behind(schema_names=all_schemas(), using="default") == []


def test_a_schema_whose_migration_fails_is_left_as_it_was_and_the_others_complete(
    schemas: dict[str, str], unblocked: None, capfd: Any
) -> None:
    fine, failing = schemas["mig-one"], schemas["mig-two"]
    put_behind(fine)
    put_behind(failing)
    # lifecycle 0001 creates this table: here it fails, after assistant 0013 added its column.
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TABLE {} (x integer)").format(
                sql.Identifier(failing, "lifecycle_retentionpolicy")
            )
        )
    before = shape(failing)

    with pytest.raises(CommandError) as failure:
        call_command("migrate_schemas", interactive=False, verbosity=1)

    output = capfd.readouterr()
    assert f"Migrations failed in 1 of 2 schemas, each left as it was: {failing}." in str(
        failure.value
    )
    # Two workers write to one stream, so a line's " OK" may land after the other's line;
    # the failing schema's second migration starting says its first one was applied.
    applying = re.findall(rf"\[behind:{failing}\]\s+Applying (\S+?)\.\.\.", output.out)
    assert applying[0] == "assistant.0013_message_refusal_reason"
    assert applying[-1] == "lifecycle.0001_initial"
    assert "already exists" in output.err
    assert shape(failing) == before
    assert schema_names_behind(schema_names=all_schemas(), using="default") == [failing]

    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP TABLE {}").format(sql.Identifier(failing, "lifecycle_retentionpolicy"))
        )
    call_command("migrate_schemas", interactive=False, verbosity=0)
    assert schema_names_behind(schema_names=all_schemas(), using="default") == []


def test_an_interrupted_run_rolls_back_the_schema_in_progress_and_a_rerun_finishes_the_rest(
    schemas: dict[str, str], unblocked: None
) -> None:
    behind = [schemas["mig-one"], schemas["mig-two"], schemas["mig-three"]]
    for schema in behind:
        put_behind(schema)
    held = schemas["mig-three"]
    held_before = shape(held)
    started = database_now()
    connections.close_all()
    # Another session holds a lock that mig-three's first migration waits for, so that the
    # run is stopped while that schema's migration is under way.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
                sql.Identifier(held, "assistant_message")
            )
        )
    database_url = urlunparse(
        urlparse(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"])
    )
    command = subprocess.Popen(
        [sys.executable, "manage.py", "migrate_schemas", "--noinput"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "saas.settings.test",
            "DATABASE_URL": database_url,
            "MIGRATE_SCHEMAS_PROCESSES": "2",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert command.stdout is not None
        progress = []
        for line in command.stdout:
            if re.match(r"\[\d+/3\] ", line):
                progress.append(line)
            if len(progress) == 2:
                break
        waiting, deadline = 0, time.monotonic() + 60
        while waiting == 0 and time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
                (waiting,) = cursor.fetchone()
            time.sleep(0.2)
        command.send_signal(signal.SIGTERM)
        _, errors = command.communicate(timeout=120)
    finally:
        command.kill()
        blocker.rollback()
        blocker.close()
    backends_gone(since=started)

    assert command.returncode != 0
    assert "Interrupted (SIGTERM) after migrating 2 of 3 schemas behind" in errors
    assert sorted(line.split()[1] for line in progress) == sorted(set(behind) - {held})
    assert shape(held) == held_before
    assert schema_names_behind(schema_names=all_schemas(), using="default") == [held]

    call_command("migrate_schemas", interactive=False, verbosity=0)

    assert schema_names_behind(schema_names=all_schemas(), using="default") == []
