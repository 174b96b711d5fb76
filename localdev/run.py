"""`make dev` (`python -m localdev.run`): the whole product on one machine.

Starts (or reuses) embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL name
reachable ones, migrates and makes sure the demo organization exists (`manage.py
demo_seed`), then runs the ASGI server, a Celery worker, Celery beat and, without a real
Stripe key or Slack app, the local Stripe- and Slack-format servers until Ctrl-C, when it
stops what it started. The children inherit DATABASE_URL and REDIS_URL from this process.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from localdev import services

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port(start: int) -> int:
    for port in range(start, start + 50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port between {start} and {start + 49}")


def stripe_server_start(manage: list[str], port: int) -> list[subprocess.Popen[bytes]]:
    """Without a real STRIPE_API_KEY (or with STRIPE_API_BASE=local), run the local
    Stripe-format server and point the server and worker (our children) at it."""
    base = os.environ.get("STRIPE_API_BASE", "")
    if base != "local" and (base or os.environ.get("STRIPE_API_KEY")):
        return []
    stripe_port = free_port(12111)
    os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{stripe_port}"
    os.environ["STRIPE_API_KEY"] = "sk_test_local"
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_local_development")
    webhook = f"http://localhost:{port}/billing/stripe/webhook/"
    print(f"  Stripe: local Stripe-format server on port {stripe_port} (STRIPE_API_BASE)")
    return [
        subprocess.Popen(
            [*manage, "stripe_local", "--port", str(stripe_port), "--webhook-url", webhook],
            cwd=ROOT,
        )
    ]


def slack_server_start(manage: list[str], port: int) -> list[subprocess.Popen[bytes]]:
    """Without a real Slack app (SLACK_OAUTH_CLIENT_ID), run the local Slack-format server
    and point the server and worker (our children) at it: Members -> Integrations then adds
    the app through its approval page, and its page at / posts as a Slack user."""
    if os.environ.get("SLACK_OAUTH_CLIENT_ID"):
        return []
    slack_port = free_port(12211)
    os.environ.update(
        SLACK_OAUTH_CLIENT_ID="local.development",
        SLACK_OAUTH_CLIENT_SECRET="local-development-client-secret",  # noqa: S106
        SLACK_SIGNING_SECRET="local-development-signing-secret",  # noqa: S106
        SLACK_API_BASE_URL=f"http://127.0.0.1:{slack_port}/api/",
        SLACK_AUTHORIZE_URL=f"http://127.0.0.1:{slack_port}/oauth/v2/authorize",
    )
    events = f"http://localhost:{port}/slack/events/"
    print(f"  Slack:  local Slack-format server at http://127.0.0.1:{slack_port}/ (post as a user)")
    return [
        subprocess.Popen(
            [*manage, "slack_local", "--port", str(slack_port), "--request-url", events],
            cwd=ROOT,
        )
    ]


def consent_callback(port: int) -> str:
    """The public site's address Google and Microsoft send the browser back to."""
    return f"http://{os.environ.get('BASE_DOMAIN', 'localhost')}:{port}/sources/oauth/callback/"


def drive_server_start(manage: list[str], port: int) -> list[subprocess.Popen[bytes]]:
    """Without a real Google Drive (GOOGLE_DRIVE_API_URL), run the local Drive-format server
    with a folder of the sample documents, and point the server and worker at it: Workspace
    -> Sources -> Add a Google Drive folder then syncs from it with the key it writes, and
    "Connect Google Drive" consents on its page as the demo owner."""
    if os.environ.get("GOOGLE_DRIVE_API_URL"):
        return []
    drive_port = free_port(12311)
    key = services.RUN_DIR / "drive-service-account.json"
    client_id = "local-development.apps.googleusercontent.com"
    os.environ.update(
        GOOGLE_DRIVE_API_URL=f"http://127.0.0.1:{drive_port}/drive/v3/",
        GOOGLE_DRIVE_TOKEN_URI=f"http://127.0.0.1:{drive_port}/token",
        GOOGLE_OAUTH_AUTHORIZE_URL=f"http://127.0.0.1:{drive_port}/o/oauth2/auth",
        GOOGLE_OAUTH_CLIENT_ID=client_id,
        GOOGLE_OAUTH_CLIENT_SECRET="GOCSPX-local-development",  # noqa: S106
        # requests-oauthlib refuses a token endpoint over http unless told so (local only).
        OAUTHLIB_INSECURE_TRANSPORT="1",
    )
    print(
        f"  Drive:  local Drive-format server on port {drive_port}; on a new workspace's"
        " Sources page (the Handbook already has these files) choose Connect Google Drive"
        f" (and Allow), or paste {key.relative_to(ROOT)} as the key; the folder ID is printed"
        ' below ("Local Drive-format server ...")'
    )
    return [
        subprocess.Popen(
            [
                *manage,
                "drive_local",
                "--port",
                str(drive_port),
                "--key-out",
                str(key),
                "--client-id",
                client_id,
                "--client-secret",
                "GOCSPX-local-development",
                "--redirect-uri",
                consent_callback(port),
            ],
            cwd=ROOT,
        )
    ]


def graph_server_start(manage: list[str], port: int) -> list[subprocess.Popen[bytes]]:
    """Without a real Microsoft identity platform (MICROSOFT_LOGIN_URL), run the local
    identity platform- and Graph-format server (HTTPS, its certificate in .run/) with the
    demo owner's OneDrive of the sample documents: "Connect SharePoint / OneDrive" consents
    on its page (the browser warns about its certificate once)."""
    if os.environ.get("MICROSOFT_LOGIN_URL"):
        return []
    graph_port = free_port(12411)
    certificate = services.RUN_DIR / "graph-local-ca.pem"
    client_id = "00000000-0000-4000-8000-00000000d0c5"
    os.environ.update(
        MICROSOFT_LOGIN_URL=f"https://127.0.0.1:{graph_port}",
        MICROSOFT_GRAPH_URL=f"https://127.0.0.1:{graph_port}/v1.0",
        MICROSOFT_CA_BUNDLE=str(certificate),
        MICROSOFT_OAUTH_CLIENT_ID=client_id,
        MICROSOFT_OAUTH_CLIENT_SECRET="local-development-client-secret",  # noqa: S106
    )
    print(
        f"  Graph:  local Microsoft-format server at https://127.0.0.1:{graph_port}/ (its own"
        " certificate: accept it once); on a new workspace's Sources page choose Connect"
        " SharePoint / OneDrive, Accept, and sync owner@demo.example's OneDrive"
    )
    return [
        subprocess.Popen(
            [
                *manage,
                "graph_local",
                "--port",
                str(graph_port),
                "--ca-out",
                str(certificate),
                "--client-id",
                client_id,
                "--client-secret",
                "local-development-client-secret",
                "--redirect-uri",
                consent_callback(port),
            ],
            cwd=ROOT,
        )
    ]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["PYTHONUNBUFFERED"] = "1"
    embedded_redis_url = f"redis+socket://{services.redis_socket_path()}"
    pg_was_up = bool(os.environ.get("DATABASE_URL")) or services.embedded_postgres_running()
    redis_was_up = services.redis_reachable(embedded_redis_url)
    services.ensure_local_services()
    started_pg = not pg_was_up
    started_redis = os.environ["REDIS_URL"] == embedded_redis_url and not redis_was_up

    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "demo_seed"], check=True, cwd=ROOT)

    port = free_port(int(os.environ.get("PORT", "8000")))
    children = stripe_server_start(manage, port) + slack_server_start(manage, port)
    children += drive_server_start(manage, port) + graph_server_start(manage, port)
    children += [
        subprocess.Popen(
            [str(BIN / "uvicorn"), "saas.asgi:application",
             "--http", "saas.http_protocol:HttpProtocol",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
        ),
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "saas", "worker", "-n", "main@%h",
             "--loglevel", "INFO", "--concurrency", "2"],
            cwd=ROOT,
        ),
        # Large documents' lane (workspaces.ingestion.queues.document_lane): a worker of
        # its own, so that small documents never wait behind them.
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "saas", "worker", "-n", "large@%h",
             "-Q", os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery") + ".large",
             "--loglevel", "INFO",
             "--concurrency", os.environ.get("INGEST_LARGE_CONCURRENCY", "1")],
            cwd=ROOT,
        ),
        # Celery beat: the periodic tasks of CELERY_BEAT_SCHEDULE (the ingestion sweeper,
        # the audit log's pruning).
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "saas", "beat", "--loglevel", "INFO",
             "--schedule", str(services.RUN_DIR / "celerybeat-schedule")],
            cwd=ROOT,
        ),
    ]  # fmt: skip

    print(
        f"\n  Knowledge Assistant is running.\n"
        f"  Public site (sign up):  http://localhost:{port}/\n"
        f"  Demo organization:      http://demo.localhost:{port}/\n"
        f"  Demo login:             owner@demo.example / demo-owner-password\n"
        f"  Platform admin:         http://localhost:{port}/admin/ "
        f"(create a login with: .venv/bin/python manage.py createsuperuser,\n"
        f"                          then its authenticator app with: manage.py staff_totp EMAIL)\n"
        f"  Press Ctrl-C to stop.\n",
        flush=True,
    )

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)

    print("\nStopping…", flush=True)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    if started_redis:
        services.embedded_redis_stop()
    if started_pg:
        services.embedded_postgres_stop()
    print("Stopped.", flush=True)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
