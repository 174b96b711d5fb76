"""What an empty organization costs, and whether it stays cheap as organizations add up: N
organizations made by the signup service, then their relations and bytes, the catalog, the
database's growth per organization, signup p50 at the first and the last of them (a tenth of
them, at most a thousand), a signed-in dashboard request at the first and the last
organization, `migrate_schemas` with nothing to apply, and `migrate_schemas` with one new
migration for every schema (a column added to a table of each organization, through a copy of
the lifecycle app's migrations with one more, named in MIGRATION_MODULES). With `--compare
REF`, the same first for the code at git REF (a temporary worktree, this script and
tenants/relations.py copied into it, so both runs measure the same way), in the same
invocation, over `--compare-orgs` organizations (default: as many).

    .venv/bin/python bench/tenants.py [--orgs 300] [--compare REF [--compare-orgs N]]

Each run uses a throwaway database (`bench_tenants`, `bench_tenants_base`) on the embedded
PostgreSQL (or the server DATABASE_URL names). Passwords are hashed with MD5 here, as in
bench/migrate.py: the bench times the schema work of a signup, not PBKDF2 (about a quarter
of a second more per signup on this machine). The last line is JSON.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 10_000  # the organizations issue 26 asks one database to hold
DASHBOARD_REQUESTS = 40  # per organization, alternating between the first and the last
NEW_MIGRATION = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "{previous}")]
    operations = [
        migrations.AddField(
            "retentionpolicy", "bench_note", models.TextField(blank=True, default="")
        )
    ]
"""


def first_last(orgs: int) -> int:
    """How many signups make "the first" and "the last": a tenth, at least 20, at most 1,000
    (issue 26: flat from the first to the last thousand)."""
    return min(1000, max(20, orgs // 10))


def migrations_with_one_more(app_label: str) -> str:
    """A copy of the app's migrations package with one new migration after its last, on
    sys.path; the package's name, for MIGRATION_MODULES."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    source = Path(apps.get_app_config(app_label).path) / "migrations"
    leaf = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(app_label)[0][1]
    folder = Path(tempfile.mkdtemp(prefix="bench-migrations-"))
    package = f"bench_{app_label}_migrations"
    shutil.copytree(source, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / package / "9999_bench_note.py").write_text(NEW_MIGRATION.format(previous=leaf))
    sys.path.insert(0, str(folder))
    return package


def measure(*, orgs: int, database: str) -> dict[str, object]:
    from bench.signup import use_bench_database

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    use_bench_database(database)
    import django
    from django.conf import settings

    django.setup()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from members.actions.signup import organization_signup
    from tenants.models import Organization
    from tenants.relations import schema_relations
    from tenants.schemas import schema_public_activate
    from tenants.services import organization_schema_name, platform_ensure

    settings.ALLOWED_HOSTS = ["*"]

    def dashboard_client(slug: str) -> Client:
        organization = Organization.objects.get(slug=slug)
        client = Client(HTTP_HOST=f"{slug}.{settings.BASE_DOMAIN}")
        with tenant_context(organization):
            client.force_login(User.objects.get(email=f"owner{slug.split('-')[1]}@bench.example"))
        schema_public_activate()
        return client

    def dashboard_p50(slugs: list[str]) -> dict[str, float]:
        clients = {slug: dashboard_client(slug) for slug in slugs}
        seconds: dict[str, list[float]] = {slug: [] for slug in slugs}
        for _ in range(DASHBOARD_REQUESTS):
            for slug, client in clients.items():
                start = time.perf_counter()
                response = client.get("/")
                seconds[slug].append(time.perf_counter() - start)
                assert response.status_code == 200, (slug, response.status_code)
                schema_public_activate()
        return {slug: statistics.median(values) for slug, values in seconds.items()}

    def database_state() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database()), count(*) FROM pg_class")
            size, relations = cursor.fetchone()
        return int(size), int(relations)

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    schema_public_activate()
    size_before, catalog_before = database_state()
    load_before = os.getloadavg()
    signups = []
    for n in range(orgs):
        start = time.perf_counter()
        organization_signup(
            name=f"Bench {n}",
            slug=f"bench-{n}",
            owner_email=f"owner{n}@bench.example",
            owner_password="a-bench-password-77",  # noqa: S106 (throwaway bench accounts)
        )
        signups.append(time.perf_counter() - start)
        schema_public_activate()
        # Each signup on a connection of its own, as a request's is in production
        # (DATABASE_CONN_MAX_AGE=0, PgBouncer's server_lifetime): a backend that creates
        # schema after schema keeps a plan for every foreign key it checked, and walks them
        # all at each catalog change (PostgreSQL's PlanCacheRelCallback), so one connection
        # for all of them made each signup slower than the last (0.31 s at 400 organizations,
        # 0.57 s at 2,600, half of it in that walk).
        connection.close()
    load_after_signups = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # sizes on disk include what is still only in WAL
    size_after, catalog_after = database_state()
    first = schema_relations(schema_name=organization_schema_name(slug="bench-0"))
    last = schema_relations(schema_name=organization_schema_name(slug=f"bench-{orgs - 1}"))
    template = schema_relations(schema_name=settings.ORGANIZATION_TEMPLATE_SCHEMA)

    dashboard = dashboard_p50(["bench-0", f"bench-{orgs - 1}"])

    start = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    migrate_nothing = time.perf_counter() - start
    schema_public_activate()

    settings.MIGRATION_MODULES = {"lifecycle": migrations_with_one_more("lifecycle")}
    load_before_migration = os.getloadavg()
    start = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    migrate_one = time.perf_counter() - start
    schema_public_activate()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_attribute WHERE attname = 'bench_note' AND NOT attisdropped"
        )
        (migrated_tables,) = cursor.fetchone()

    count = first_last(orgs)
    signup_first = statistics.median(signups[:count])
    signup_last = statistics.median(signups[-count:])
    per_org_bytes = (size_after - size_before) / orgs
    per_org_catalog = (catalog_after - catalog_before) / orgs
    return {
        "organizations": orgs,
        "relations_per_organization": first["relations"],
        "bytes_per_organization_schema": first["bytes"],
        "relations_by_kind": first["by_kind"],
        "relations_by_app": {app: row["relations"] for app, row in first["by_app"].items()},
        "last_organization_relations": last["relations"],
        "template_relations": template["relations"],
        "pg_class_rows_added_per_organization": round(per_org_catalog, 1),
        "database_bytes_added_per_organization": round(per_org_bytes),
        "signups_first_last": count,
        "signup_p50_first_s": round(signup_first, 3),
        "signup_p50_last_s": round(signup_last, 3),
        "signup_p50_all_s": round(statistics.median(signups), 3),
        "signup_p90_all_s": round(statistics.quantiles(signups, n=10)[-1], 3),
        "signups_s": round(sum(signups), 1),
        "dashboard_p50_first_organization_ms": round(dashboard["bench-0"] * 1000, 1),
        "dashboard_p50_last_organization_ms": round(dashboard[f"bench-{orgs - 1}"] * 1000, 1),
        "migrate_schemas_nothing_to_apply_s": round(migrate_nothing, 2),
        "migrate_schemas_one_new_migration_s": round(migrate_one, 1),
        "tables_given_the_new_column": migrated_tables,
        "migrate_schemas_processes": settings.MIGRATE_SCHEMAS_PROCESSES,
        "load_before_migration": [round(x, 2) for x in load_before_migration],
        f"extrapolated_{TARGET}_pg_class_rows": round(catalog_before + per_org_catalog * TARGET),
        f"extrapolated_{TARGET}_database_gb": round(
            (size_before + per_org_bytes * TARGET) / 1e9, 2
        ),
        "load_before": [round(x, 2) for x in load_before],
        "load_after_signups": [round(x, 2) for x in load_after_signups],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def measure_at(ref: str, *, orgs: int) -> dict[str, object]:
    """This script's measure() run on the code at git `ref`, in a worktree of its own."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    tree = workdir / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
        check=True,
        capture_output=True,
    )
    try:
        for relative in ("bench/tenants.py", "tenants/relations.py"):
            shutil.copy(ROOT / relative, tree / relative)
        # The embedded server's data stays this checkout's; the worktree has no .run/.
        env = {**os.environ, "SAAS_RUN_DIR": str(ROOT / ".run")}
        if not (ROOT / ".run").exists():
            env.pop("SAAS_RUN_DIR")
        output = subprocess.run(
            [sys.executable, str(tree / "bench/tenants.py"), "--orgs", str(orgs), "--baseline"],
            check=True,
            capture_output=True,
            text=True,
            cwd=tree,
            env=env,
        ).stdout
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)
    figures: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=300)
    parser.add_argument("--compare", metavar="REF", help="measure the code at git REF first")
    parser.add_argument("--compare-orgs", type=int, help="organizations for REF (default: --orgs)")
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        print(json.dumps(measure(orgs=args.orgs, database="bench_tenants_base")))
        return

    figures: dict[str, object] = {}
    if args.compare:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", args.compare],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        figures[f"before ({commit})"] = measure_at(
            args.compare, orgs=args.compare_orgs or args.orgs
        )
    figures["this tree"] = measure(orgs=args.orgs, database="bench_tenants")
    print(f"cores: {os.cpu_count()}")
    for label, run in figures.items():
        assert isinstance(run, dict)
        print(
            f"{label}: {run['relations_per_organization']} relations and "
            f"{run['bytes_per_organization_schema'] / 1024:.0f} KiB per empty organization "
            f"(database +{run['database_bytes_added_per_organization'] / 1024:.0f} KiB and "
            f"+{run['pg_class_rows_added_per_organization']} pg_class rows each); signup p50 "
            f"{run['signup_p50_first_s']} s at the first {run['signups_first_last']}, "
            f"{run['signup_p50_last_s']} s at the last {run['signups_first_last']} of "
            f"{run['organizations']}; dashboard p50 "
            f"{run['dashboard_p50_first_organization_ms']} ms at the first organization, "
            f"{run['dashboard_p50_last_organization_ms']} ms at the last; migrate_schemas "
            f"with nothing to apply {run['migrate_schemas_nothing_to_apply_s']} s, with one "
            f"new migration {run['migrate_schemas_one_new_migration_s']} s "
            f"({run['tables_given_the_new_column']} tables given its column)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
