"""`migrate_schemas` with nothing to apply over N empty organizations: django-tenants' standard
executor (every schema, one after another) and this project's (tenants.schema_migrations:
only the schemas behind), in the same run on the same database; then the same with one
schema behind.

    .venv/bin/python bench/migrate.py [--orgs 200]

The organizations are made by the product's signup service (members.actions.signup), in a
throwaway database (`bench_migrate`) on the embedded PostgreSQL (or the server DATABASE_URL
names). Passwords are hashed with MD5 here: the bench times migrations, not PBKDF2.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.signup import use_bench_database  # noqa: E402


def timed(function: object, **kwargs: object) -> float:
    start = time.perf_counter()
    function(**kwargs)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=200)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    use_bench_database("bench_migrate")
    import django
    from django.conf import settings

    django.setup()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.management import call_command

    from members.actions.signup import organization_signup
    from tenants.schemas import schema_public_activate
    from tenants.services import platform_ensure

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    load_before = os.getloadavg()
    start = time.perf_counter()
    for n in range(args.orgs):
        organization_signup(
            name=f"Bench {n}",
            slug=f"bench-{n}",
            owner_email=f"owner{n}@bench.example",
            owner_password="a-bench-password-77",  # noqa: S106 (throwaway bench accounts)
        )
        schema_public_activate()
    signups = time.perf_counter() - start
    schemas = args.orgs + 2  # and the template and public

    def migrate(**options: object) -> None:
        call_command("migrate_schemas", interactive=False, verbosity=0, **options)
        schema_public_activate()

    standard = timed(migrate, executor="standard")
    behind = timed(migrate)
    # One organization behind, as after a release whose migration reached all but one.
    call_command(
        "migrate_schemas",
        "assistant",
        "0012_gap_answered_by_later_document",
        schema_name="org_bench_0",
        interactive=False,
        verbosity=0,
    )
    schema_public_activate()
    one_behind = timed(migrate)

    load = os.getloadavg()
    print(f"{args.orgs} organizations made by the signup service in {signups:.1f} s")
    print(
        f"migrate_schemas, nothing to apply, {schemas} schemas (public, template, organizations): "
        f"django-tenants standard executor {standard:.1f} s ({standard / schemas:.3f} s a schema); "
        f"only the schemas behind {behind:.2f} s"
    )
    print(f"migrate_schemas, one schema behind (2 migrations): {one_behind:.2f} s")
    print(
        f"load average (1, 5, 15 min) before the signups: {' '.join(f'{x:.2f}' for x in load_before)}"
    )
    print(f"load average (1, 5, 15 min) at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"cores: {os.cpu_count()}")
    figures = {
        "organizations": args.orgs,
        "standard_executor_s": round(standard, 2),
        "behind_only_s": round(behind, 2),
        "one_schema_behind_s": round(one_behind, 2),
        "load_before": load_before,
        "load_after": load,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
