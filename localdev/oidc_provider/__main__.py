"""Run the local identity provider: `python -m localdev.oidc_provider --port 9000
--redirect-uri http://acme.localhost:8000/accounts/oidc/sso/login/callback/
--user jo@acme.example --password ...`. It prints the issuer, client id and client secret to
give the product's Single sign-on page, and serves until stopped.

Each run starts afresh: a new SQLite file, a new RS256 signing key, the users and the one
registered client given on the command line."""

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _rsa_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--redirect-uri", action="append", default=[], required=True)
    parser.add_argument("--user", action="append", default=[], help="an email address")
    parser.add_argument("--password", default=os.environ.get("OIDC_PROVIDER_PASSWORD", ""))
    parser.add_argument("--client-id", default="knowledge-assistant")
    parser.add_argument("--client-secret", default=os.environ.get("OIDC_PROVIDER_CLIENT_SECRET"))
    args = parser.parse_args(argv)
    password = args.password or secrets.token_urlsafe(12)
    client_secret = args.client_secret or secrets.token_urlsafe(24)

    data = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    issuer = f"http://127.0.0.1:{args.port}/o"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="localdev.oidc_provider.settings",
        OIDC_PROVIDER_ISSUER=issuer,
        OIDC_PROVIDER_DB=str(data / "provider.sqlite3"),
        OIDC_PROVIDER_SECRET_KEY=secrets.token_urlsafe(32),
        OIDC_PROVIDER_RSA_KEY=_rsa_key_pem(),
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for email in args.user:
        name = email.split("@")[0].replace(".", " ").title()
        User.objects.create_user(username=email, email=email, password=password, first_name=name)
    Application.objects.create(
        name="Knowledge Assistant",
        client_id=args.client_id,
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(args.redirect_uri),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    server = make_server(
        "127.0.0.1", args.port, get_wsgi_application(),
        server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
    )  # fmt: skip
    print(f"issuer {issuer}", flush=True)
    print(f"client_id {args.client_id}", flush=True)
    if not args.client_secret:
        print(f"client_secret {client_secret}", flush=True)
    if not args.password:
        print(f"password {password}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
