"""Debian's `pgbouncer` in front of a PostgreSQL, with production's pooling settings
(infra/pgbouncer/pooling.ini): for the tests of the pooled connections (tests/tenants) and
bench/pooling.py. Needs the `pgbouncer` package (`.ci/run` installs it)."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POOLING_SETTINGS = ROOT / "infra" / "pgbouncer" / "pooling.ini"
RUN_AS = "embedded_postgres"  # localdev.services runs the embedded server as this user as root


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError("pgbouncer is not installed: apt-get install pgbouncer (see .ci/run)")
    return found


@contextlib.contextmanager
def pgbouncer_running(
    *, port: int, server_host: str, server_port: int, server_user: str, **overrides: str
) -> Iterator[Path]:
    """pgbouncer on 127.0.0.1:`port`, every database name passed through to the server at
    `server_host` (a unix-socket directory or a host name) as `server_user`, with no password
    between the client and pgbouncer (loopback only). `overrides` replace pooling settings
    (`pool_mode="session"`, `server_lifetime="5"`). Yields the directory of its files (its
    log is `pgbouncer.log`)."""
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    settings = "".join(f"{name} = {value}\n" for name, value in overrides.items())
    (directory / "userlist.txt").write_text(f'"{server_user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port} user={server_user}\n"
        # One [pgbouncer] section (pgbouncer 1.18 keeps only the last of several, and its
        # %include did not apply here): production's settings, then this run's.
        + "[pgbouncer]\n"
        + POOLING_SETTINGS.read_text().replace("[pgbouncer]\n", "")
        + f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
        f"admin_users = {server_user}\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
        + settings
    )
    command = [pgbouncer_binary()]
    if os.geteuid() == 0:
        # pgbouncer refuses to run as root: as the embedded server's user, in its own files.
        command += ["-u", RUN_AS]
        for path in [directory, *directory.iterdir()]:
            shutil.chown(path, RUN_AS)
    # Its messages go to a file, never a pipe: nobody reads a pipe while it runs, and a full
    # one stops pgbouncer at its next log line (every connection logs one).
    stderr = (directory / "stderr.log").open("wb")
    process = subprocess.Popen(
        [*command, str(directory / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=stderr
    )
    try:
        deadline = time.monotonic() + 15
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if process.poll() is not None:
                log = (directory / "stderr.log").read_text(errors="replace")
                raise RuntimeError(f"pgbouncer did not start: {log}")
            if time.monotonic() > deadline:
                raise RuntimeError("pgbouncer did not start listening within 15 s")
            time.sleep(0.05)
        yield directory
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr.close()
        shutil.rmtree(directory, ignore_errors=True)
