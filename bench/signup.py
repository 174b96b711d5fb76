"""Signup speed: 50 organizations through the real signup view, against the baseline of
migrating one tenant schema from scratch, in the same run on the same database server.

    .venv/bin/python bench/signup.py [--orgs 50]

Uses a throwaway database (`bench_signup`) on the embedded PostgreSQL (or on the server
DATABASE_URL names) and the development settings, so passwords are hashed for real.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "bench_signup"


def use_bench_database(name: str = BENCH_DB) -> None:
    import psycopg

    from localdev.services import ensure_local_services

    ensure_local_services()  # the dev settings read DATABASE_URL and REDIS_URL
    url = os.environ["DATABASE_URL"]
    parsed = urlparse(url)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{name}"))


def _libpq(url: str) -> str:
    import environ

    config = environ.Env.db_url_config(url)
    from urllib.parse import unquote

    return (
        f"host={unquote(str(config['HOST']))} port={config['PORT']} "
        f"user={config['USER']} password={config['PASSWORD']} dbname={config['NAME']}"
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=50)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    use_bench_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_tenants.clone import CloneSchema

    from tenants.schema_clone import schema_clone
    from tenants.schemas import schema_public_activate
    from tenants.services import platform_ensure

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()

    baseline = []
    for attempt in range(3):
        schema = f"bench_plain_{attempt}"
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        call_command(
            "migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0
        )
        baseline.append(time.perf_counter() - start)
        schema_public_activate()

    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    signups = []
    for n in range(args.orgs):
        form = {
            "name": f"Bench {n}",
            "slug": f"bench-{n}",
            "email": f"owner{n}@bench.example",
            "password": "a-bench-password-77",
        }
        start = time.perf_counter()
        response = client.post("/", form)
        signups.append(time.perf_counter() - start)
        assert response.status_code == 303, response.content[:500]

    # The same number of copies with django-tenants' clone_schema, in the same database
    # (the alternative this project replaced): does its time grow with the schema count?
    plpgsql = []
    for n in range(args.orgs):
        start = time.perf_counter()
        CloneSchema().clone_schema(
            settings.ORGANIZATION_TEMPLATE_SCHEMA, f"bench_plpgsql_{n}", "DATA"
        )
        plpgsql.append(time.perf_counter() - start)
        schema_public_activate()
    copies = []
    for n in range(5):
        start = time.perf_counter()
        schema_clone(source=settings.ORGANIZATION_TEMPLATE_SCHEMA, target=f"bench_copy_{n}")
        copies.append(time.perf_counter() - start)

    migrate = statistics.median(baseline)
    print(f"plain migrate_schemas of one tenant (median of 3): {migrate:.3f} s")
    print(
        f"signup through the view, {args.orgs} organizations: "
        f"p50 {percentile(signups, 0.5):.3f} s, p95 {percentile(signups, 0.95):.3f} s, "
        f"max {max(signups):.3f} s"
    )
    print(
        f"first and last five signups: median {statistics.median(signups[:5]):.3f} s, "
        f"{statistics.median(signups[-5:]):.3f} s"
    )
    print(
        f"django-tenants clone_schema, {args.orgs} more copies: first five median "
        f"{statistics.median(plpgsql[:5]):.3f} s, last five {statistics.median(plpgsql[-5:]):.3f} s"
    )
    print(
        f"tenants.schema_clone after all of them (median of 5): {statistics.median(copies):.3f} s"
    )
    print("(a signup also hashes the password with PBKDF2, about a quarter of a second here)")


if __name__ == "__main__":
    main()
