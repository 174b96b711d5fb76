"""What an empty organization costs, and whether it stays cheap as organizations add up: N
organizations made by the signup service, then their relations and bytes, the catalog, the
database's growth per organization, signup p50 at the first and the last of them, and
`migrate_schemas` with nothing to apply; with `--compare REF`, the same first for the code at
git REF (a temporary worktree, this script and tenants/relations.py copied into it, so both
runs measure the same way), in the same invocation.

    .venv/bin/python bench/tenants.py [--orgs 300] [--compare REF]

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

FIRST_LAST = 20  # signups whose median is "at the first" and "at the last"
TARGET = 10_000  # the organizations issue 26 asks one database to hold


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

    from members.actions.signup import organization_signup
    from tenants.relations import schema_relations
    from tenants.schemas import schema_public_activate
    from tenants.services import organization_schema_name, platform_ensure

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
    load_after_signups = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # sizes on disk include what is still only in WAL
    size_after, catalog_after = database_state()
    first = schema_relations(schema_name=organization_schema_name(slug="bench-0"))
    last = schema_relations(schema_name=organization_schema_name(slug=f"bench-{orgs - 1}"))
    template = schema_relations(schema_name=settings.ORGANIZATION_TEMPLATE_SCHEMA)

    start = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    migrate_nothing = time.perf_counter() - start
    schema_public_activate()

    signup_first = statistics.median(signups[:FIRST_LAST])
    signup_last = statistics.median(signups[-FIRST_LAST:])
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
        f"signup_p50_first_{FIRST_LAST}_s": round(signup_first, 3),
        f"signup_p50_last_{FIRST_LAST}_s": round(signup_last, 3),
        "signup_p50_all_s": round(statistics.median(signups), 3),
        "migrate_schemas_nothing_to_apply_s": round(migrate_nothing, 2),
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
        figures[f"before ({commit})"] = measure_at(args.compare, orgs=args.orgs)
    figures["this tree"] = measure(orgs=args.orgs, database="bench_tenants")
    print(f"cores: {os.cpu_count()}")
    for label, run in figures.items():
        assert isinstance(run, dict)
        print(
            f"{label}: {run['relations_per_organization']} relations and "
            f"{run['bytes_per_organization_schema'] / 1024:.0f} KiB per empty organization "
            f"(database +{run['database_bytes_added_per_organization'] / 1024:.0f} KiB and "
            f"+{run['pg_class_rows_added_per_organization']} pg_class rows each); signup p50 "
            f"{run[f'signup_p50_first_{FIRST_LAST}_s']} s at the first {FIRST_LAST}, "
            f"{run[f'signup_p50_last_{FIRST_LAST}_s']} s at the last {FIRST_LAST} of "
            f"{run['organizations']}; migrate_schemas with nothing to apply "
            f"{run['migrate_schemas_nothing_to_apply_s']} s"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
