#!/bin/sh
# PgBouncer as a sidecar of a Cloud Run instance (infra/terraform/run.tf): listens on
# 127.0.0.1:6432 for the app's containers (DATABASE_PGBOUNCER=127.0.0.1:6432) and pools
# their connections to the server DATABASE_URL names, in transaction mode, with the settings
# of infra/pgbouncer/pooling.ini (the ones the tests run: localdev/pgbouncer.py).
set -eu
config_dir="${TMPDIR:-/tmp}/pgbouncer"
mkdir -p "$config_dir"
# postgres://USER:PASSWORD@HOST:PORT/NAME?...
eval "$(python3 - <<'PY'
import os, shlex
from urllib.parse import urlparse, unquote
url = urlparse(os.environ["DATABASE_URL"])
for name, value in {"DB_USER": url.username, "DB_PASSWORD": unquote(url.password or ""),
                    "DB_HOST": url.hostname, "DB_PORT": str(url.port or 5432)}.items():
    print(f"{name}={shlex.quote(value)}")
PY
)"
umask 077
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$config_dir/userlist.txt"
{
  printf '[databases]\n* = host=%s port=%s\n' "$DB_HOST" "$DB_PORT"
  # One [pgbouncer] section: pgbouncer keeps only the last of several.
  printf '[pgbouncer]\n'
  grep -v '^\[pgbouncer\]' /app/infra/pgbouncer/pooling.ini
  printf 'listen_addr = 127.0.0.1\nlisten_port = 6432\nunix_socket_dir =\n'
  printf 'auth_type = scram-sha-256\nauth_file = %s/userlist.txt\n' "$config_dir"
  # Cloud SQL's private address: encrypted (the instance requires it).
  printf 'server_tls_sslmode = require\n'
} > "$config_dir/pgbouncer.ini"
exec pgbouncer "$config_dir/pgbouncer.ini"
