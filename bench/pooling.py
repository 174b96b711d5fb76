"""Pooled connections and a backend's memory, on the embedded PostgreSQL with Debian's pgbouncer.

    .venv/bin/python bench/pooling.py [--orgs 1000] [--reuse]

1. Leaks: 20 threads, each bound to one organization, write a row and read their
   organization's rows back, through pgbouncer in transaction mode with 2 server connections:
   with django-tenants' own backend (a session-level `SET search_path`) and with ours
   (tenants.postgresql_backend: the schema set in each transaction). Counted: rows written
   into, or read from, another organization's schema.
2. Session against transaction pooling: 200 client connections kept open (as in_tenant's pool
   threads and Celery's processes keep theirs) each run one short transaction, through 10
   server connections: how many are served within 5 s in each mode.
3. Memory: one connection serves N organizations (every table of each organization's schema
   read, as pages across the product would), measured after 1, 10, 100 and N (PostgreSQL's
   own accounting, pg_backend_memory_contexts, and the backend's resident anonymous memory in
   /proc); beside a fresh connection that served one organization, in the same run. Then the
   same N organizations served through pgbouncer with server_lifetime: the largest backend.

The organizations are made by the product's signup service in a database of their own
(`bench_pool`), kept for the next run with --reuse. Passwords are hashed with MD5 here.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "bench_pool"
STOCK_BACKEND = "django_tenants.postgresql_backend"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--part", default="", help=argparse.SUPPRESS)  # a child run's part
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    from localdev.services import ensure_local_services

    ensure_local_services()
    if args.part:
        print(json.dumps(PARTS[args.part](args)))
        return
    url = os.environ["DATABASE_URL"]
    _database_ensure(url, args)
    figures: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count()}
    for part in ("leaks_stock", "leaks_ours", "modes", "memory"):
        figures[part] = _child(part, args)
        print(part, json.dumps(figures[part]), flush=True)
    figures["load_after"] = os.getloadavg()
    print(json.dumps(figures))


def _child(part: str, args: argparse.Namespace) -> Any:
    """A part in a process of its own (the leak probe with the stock backend needs other
    settings), on the bench database."""
    from urllib.parse import urlparse, urlunparse

    environment = {
        **os.environ,
        "DATABASE_URL": urlunparse(
            urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{BENCH_DB}")
        ),
    }
    output = subprocess.run(
        [sys.executable, __file__, "--orgs", str(args.orgs), "--part", part],
        env=environment, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def _database_ensure(url: str, args: argparse.Namespace) -> None:
    import psycopg

    from bench.signup import _libpq

    admin = _libpq(url.rsplit("/", 1)[0] + "/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if exists and args.reuse:
            return
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    _child("make", args)


def _django(backend: str = "") -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if backend:
        settings.DATABASES["default"]["ENGINE"] = backend
        # What the settings had before this project's backend: one SET per connection and tenant.
        settings.TENANT_LIMIT_SET_CALLS = True
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None


def part_make(args: argparse.Namespace) -> dict[str, Any]:
    _django()
    from django.core.management import call_command

    from members.actions.signup import organization_signup
    from tenants.schemas import schema_public_activate
    from tenants.services import platform_ensure

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    start = time.perf_counter()
    for n in range(args.orgs):
        organization_signup(
            name=f"Pool bench {n}", slug=f"poolbench-{n}",
            owner_email=f"owner{n}@poolbench.example",
            owner_password="a-bench-password-77",  # noqa: S106 (throwaway bench accounts)
        )  # fmt: skip
        schema_public_activate()
    return {"organizations": args.orgs, "signups_s": round(time.perf_counter() - start, 1)}


def _pooler(**overrides: str) -> Any:
    from django.db import connection

    from localdev.pgbouncer import pgbouncer_running
    from tests.live import free_port

    database = connection.settings_dict
    port = free_port()
    running = pgbouncer_running(
        port=port, server_host=database["HOST"], server_port=int(database["PORT"]),
        server_user=database["USER"], **overrides,
    )  # fmt: skip
    return port, running


def _through(port: int) -> None:
    """Every connection opened from now on goes through the pooler on `port`."""
    from django.db import connections

    connections.close_all()
    for alias in connections:
        connections.settings[alias].update({"HOST": "127.0.0.1", "PORT": str(port)})


def _leaks(backend: str) -> dict[str, Any]:
    _django(backend)
    _remember_direct()
    from django.db import DatabaseError, connection
    from django_tenants.utils import tenant_context

    from audit.models import AuditEvent
    from tenants.models import Organization

    organizations = list(
        Organization.objects.filter(slug__startswith="poolbench-").order_by("pk")[:20]
    )
    port, running = _pooler(default_pool_size="2", reserve_pool_size="0")
    wrong = {"written_elsewhere": 0, "read_from_elsewhere": 0, "errors": 0, "statements": 0}
    lock = threading.Lock()

    def work(organization: Organization) -> None:
        for n in range(25):
            try:
                with tenant_context(organization):
                    AuditEvent.objects.create(
                        action="probe", target_label=organization.slug, actor_label=f"probe {n}"
                    )
                    labels = set(
                        AuditEvent.objects.filter(action="probe").values_list(
                            "target_label", flat=True
                        )
                    )
                with lock:
                    wrong["read_from_elsewhere"] += len(labels - {organization.slug})
                    wrong["statements"] += 2
            except DatabaseError:  # a statement in a schema without the table
                with lock:
                    wrong["errors"] += 1
        connection.close()

    with running:
        _through(port)
        threads = [threading.Thread(target=work, args=(o,)) for o in organizations]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    from django.db import connections

    connections.close_all()
    for alias in connections:
        connections.settings[alias].update(_direct)
    for organization in organizations:
        with tenant_context(organization):
            events = AuditEvent.objects.filter(action="probe")
            wrong["written_elsewhere"] += events.exclude(target_label=organization.slug).count()
            events.delete()
    return {"backend": backend or "tenants.postgresql_backend", **wrong}


_direct: dict[str, Any] = {}


def part_leaks_stock(args: argparse.Namespace) -> dict[str, Any]:
    return _leaks(STOCK_BACKEND)


def part_leaks_ours(args: argparse.Namespace) -> dict[str, Any]:
    return _leaks("")


def _remember_direct() -> None:
    from django.db import connections

    _direct.update({key: connections.settings["default"][key] for key in ("HOST", "PORT")})


def part_modes(args: argparse.Namespace) -> dict[str, Any]:
    _django()
    _remember_direct()
    return {mode: _clients_served(mode) for mode in ("session", "transaction")}


def _clients_served(mode: str, clients: int = 200, servers: int = 10) -> dict[str, Any]:
    """`clients` connections at once, each kept open after its one short transaction (as a
    pool thread keeps its own), through `servers` server connections."""
    import psycopg

    port, running = _pooler(pool_mode=mode, default_pool_size=str(servers),
                            reserve_pool_size="0", query_wait_timeout="5")  # fmt: skip
    served, refused = [0], [0]
    lock, hold = threading.Lock(), threading.Event()
    address = f"host=127.0.0.1 port={port} user={_direct_user()} dbname={BENCH_DB}"

    def client() -> None:
        try:
            with psycopg.connect(address, autocommit=True, connect_timeout=10) as conn:
                conn.execute("SELECT count(*) FROM pg_class")
                with lock:
                    served[0] += 1
                hold.wait(timeout=10)
        except psycopg.Error:  # query_wait_timeout: the pooler gave up on it
            with lock:
                refused[0] += 1

    with running:
        threads = [threading.Thread(target=client) for _ in range(clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        while served[0] + refused[0] < clients and time.perf_counter() < start + 8:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        hold.set()
        for thread in threads:
            thread.join()
    return {"clients": clients, "server_connections": servers, "served": served[0],
            "not_served": clients - served[0], "seconds": round(elapsed, 2)}  # fmt: skip


def _direct_user() -> str:
    from django.db import connection

    return str(connection.settings_dict["USER"])


TABLES_SQL = """
SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1
"""
MEMORY_SQL = """
WITH context AS (SELECT * FROM pg_backend_memory_contexts),
     cache AS (SELECT path[level] AS id, level FROM context WHERE name = 'CacheMemoryContext')
SELECT pg_backend_pid(), (SELECT sum(total_bytes) FROM context),
       (SELECT sum(context.total_bytes) FROM context, cache WHERE context.path[cache.level] = cache.id)
"""


def _serve(organization: Any, tables: list[str]) -> None:
    """Every table of the organization's schema read once, in one transaction."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    with tenant_context(organization), transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table} LIMIT 1")  # noqa: S608 (catalog names, quoted)


def _memory() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(MEMORY_SQL)
        pid, total, cache = cursor.fetchone()
    return {"contexts_mb": round(float(total) / 2**20, 2),
            "catalog_cache_mb": round(float(cache) / 2**20, 2),
            "rss_anon_mb": _rss_anon_mb(pid)}  # fmt: skip


def _rss_anon_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # another machine than the server's
        return None
    kilobytes = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("RssAnon:")
    )
    return round(kilobytes / 1024, 1)


def part_memory(args: argparse.Namespace) -> dict[str, Any]:
    _django()
    _remember_direct()
    from django.db import connection, connections

    from tenants.models import Organization

    organizations = list(
        Organization.objects.filter(slug__startswith="poolbench-").order_by("pk")[: args.orgs]
    )
    with connection.cursor() as cursor:
        cursor.execute(TABLES_SQL, [organizations[0].schema_name])
        tables = [row[0] for row in cursor.fetchall()]
    connection.close()

    _serve(organizations[0], tables)
    fresh = _memory()
    connection.close()
    steps, start = {}, time.perf_counter()
    for n, organization in enumerate(organizations, 1):
        _serve(organization, tables)
        if n in (1, 10, 100) or n == len(organizations):
            steps[n] = _memory()
    served_s = time.perf_counter() - start
    grown = steps[len(organizations)]["contexts_mb"] - fresh["contexts_mb"]
    connection.close()

    # The same organizations through pgbouncer, whose server connections are closed once
    # released after `server_lifetime` seconds: the largest server backend at the end.
    lifetime = max(1, round(served_s / 10))
    port, running = _pooler(default_pool_size="1", reserve_pool_size="0",
                            server_lifetime=str(lifetime))  # fmt: skip
    with running:
        _through(port)
        for organization in organizations:
            _serve(organization, tables)
        pooled = _memory()
        connections.close_all()
    return {
        "organizations": len(organizations),
        "tables_per_organization": len(tables),
        "fresh_connection_one_organization": fresh,
        "one_connection_after": steps,
        "growth_mb_per_organization": round(grown / max(len(organizations) - 1, 1), 3),
        "served_s": round(served_s, 1),
        "pgbouncer_server_lifetime_s": lifetime,
        "through_pgbouncer_at_the_end": pooled,
    }


PARTS = {
    "make": part_make,
    "leaks_stock": part_leaks_stock,
    "leaks_ours": part_leaks_ours,
    "modes": part_modes,
    "memory": part_memory,
}


if __name__ == "__main__":
    main()
