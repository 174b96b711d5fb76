"""A local SAML 2.0 identity provider, for development and tests: `python -m
localdev.saml_idp --port 9100 --user jo@acme.example` prints its metadata URL and serves until
stopped. The tests run it in a thread (`saml_idp_running`).

Each run makes a new RSA key and self-signed certificate (published in its metadata) and signs
every assertion with it (python3-saml's signing, xmlsec underneath). It speaks the Web Browser
SSO profile as Okta and Entra do: an AuthnRequest arrives over HTTP-Redirect at /sso, the
person signs in with one of the users and the run's password, and a signed Response goes back
to the service provider's Assertion Consumer Service over HTTP-POST (an auto-submitting form).

To test refusals, the sign-in form also picks which response to send: a valid one, one signed
with a key that is not in the metadata, an expired one, or one meant for another audience."""

# ruff: noqa: E501 (the SAML documents are written out as they travel, one element a line)

import argparse
import base64
import contextlib
import datetime
import html
import secrets
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SCENARIOS = {
    "valid": "A valid, signed response",
    "bad-signature": "Signed with a key that is not in the metadata",
    "expired": "Expired (issued an hour ago)",
    "wrong-audience": "Meant for another application (audience)",
}


@dataclass(frozen=True)
class SigningKey:
    private_pem: str
    certificate_pem: str

    @property
    def certificate_base64(self) -> str:
        return "".join(self.certificate_pem.strip().splitlines()[1:-1])


def signing_key_make(common_name: str = "Local SAML identity provider") -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return SigningKey(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


def _instant(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class IdentityProvider:
    base_url: str
    users: list[str]
    password: str
    key: SigningKey = field(default_factory=signing_key_make)
    # Not in the metadata: what a response signed by someone else is signed with.
    stranger: SigningKey = field(default_factory=lambda: signing_key_make("Someone else"))

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/metadata"

    def metadata(self) -> str:
        return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{self.entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{self.key.certificate_base64}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{self.base_url}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""

    def response(
        self,
        *,
        email: str,
        acs_url: str,
        audience: str,
        in_response_to: str,
        scenario: str = "valid",
    ) -> str:
        """A base64 SAML Response whose assertion is signed, as the scenario wants it."""
        now = datetime.datetime.now(datetime.UTC)
        if scenario == "expired":
            now -= datetime.timedelta(hours=1)
        if scenario == "wrong-audience":
            audience = "https://another-application.example/saml/metadata"
        key = self.stranger if scenario == "bad-signature" else self.key
        issued, until = _instant(now), _instant(now + datetime.timedelta(minutes=5))
        given, _, family = email.partition("@")[0].replace(".", " ").title().partition(" ")
        assertion = f"""<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{issued}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<saml:Subject>
<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{html.escape(email)}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
<saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{html.escape(acs_url)}" InResponseTo="{html.escape(in_response_to)}"/>
</saml:SubjectConfirmation>
</saml:Subject>
<saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}">
<saml:AudienceRestriction><saml:Audience>{html.escape(audience)}</saml:Audience></saml:AudienceRestriction>
</saml:Conditions>
<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="_{uuid.uuid4().hex}">
<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
</saml:AuthnStatement>
<saml:AttributeStatement>
<saml:Attribute Name="email"><saml:AttributeValue>{html.escape(email)}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="firstName"><saml:AttributeValue>{html.escape(given)}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="lastName"><saml:AttributeValue>{html.escape(family)}</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion>"""
        signed = OneLogin_Saml2_Utils.add_sign(
            assertion, key.private_pem, key.certificate_pem
        ).decode()
        signed = signed.removeprefix('<?xml version="1.0"?>').strip()
        response = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{issued}" Destination="{html.escape(acs_url)}" InResponseTo="{html.escape(in_response_to)}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
{signed}
</samlp:Response>"""
        return base64.b64encode(response.encode()).decode()

    # --- the web side ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/metadata":
            return _reply(start_response, self.metadata(), "application/samlmetadata+xml")
        if path == "/sso" and method == "GET":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            request = query.get("SAMLRequest", [""])[0]
            relay = query.get("RelayState", [""])[0]
            return _reply(start_response, self._sign_in_page(request, relay))
        if path == "/sso" and method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(size).decode())
            return _reply(start_response, self._answer(form))
        return _reply(start_response, "Not found", status="404 Not Found")

    def _sign_in_page(self, saml_request: str, relay: str, refusal: str = "") -> str:
        options = "".join(
            f'<option value="{name}">{html.escape(label)}</option>'
            for name, label in SCENARIOS.items()
        )
        error = f'<p role="alert">{html.escape(refusal)}</p>' if refusal else ""
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local SAML identity provider</title></head><body>
<h1>Local SAML identity provider</h1>{error}
<form method="post" action="{self.base_url}/sso">
<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}">
<input type="hidden" name="RelayState" value="{html.escape(relay)}">
<p><label>Email <input name="email" autocomplete="off"></label></p>
<p><label>Password <input name="password" type="password"></label></p>
<p><label>Response <select name="scenario">{options}</select></label></p>
<p><button type="submit">Sign in</button></p>
</form></body></html>"""

    def _answer(self, form: dict[str, list[str]]) -> str:
        def one(name: str) -> str:
            return form.get(name, [""])[0]

        saml_request, relay = one("SAMLRequest"), one("RelayState")
        if one("email") not in self.users or one("password") != self.password:
            return self._sign_in_page(saml_request, relay, "Unknown user or wrong password.")
        request = etree.fromstring(OneLogin_Saml2_Utils.decode_base64_and_inflate(saml_request))
        issuer = request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer") or ""
        acs_url = request.get("AssertionConsumerServiceURL", "")
        response = self.response(
            email=one("email"), acs_url=acs_url, audience=issuer,
            in_response_to=request.get("ID", ""), scenario=one("scenario") or "valid",
        )  # fmt: skip
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Signing you in</title></head><body onload="document.forms[0].submit()">
<form method="post" action="{html.escape(acs_url)}">
<input type="hidden" name="SAMLResponse" value="{response}">
<input type="hidden" name="RelayState" value="{html.escape(relay)}">
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>"""


def authn_request_of(location: str) -> dict[str, str]:
    """The AuthnRequest a service provider's redirect carries: its ID, issuer and ACS URL."""
    query = parse_qs(location.partition("?")[2])
    request = etree.fromstring(
        OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"][0])
    )
    return {
        "id": request.get("ID", ""),
        "issuer": request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer") or "",
        "acs_url": request.get("AssertionConsumerServiceURL", ""),
        "SAMLRequest": query["SAMLRequest"][0],
        "RelayState": query.get("RelayState", [""])[0],
    }


def _reply(
    start_response: Any, body: str, content_type: str = "text/html", status: str = "200 OK"
) -> list[bytes]:
    start_response(status, [("Content-Type", f"{content_type}; charset=utf-8")])
    return [body.encode()]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def saml_idp_running(port: int, *, users: list[str], password: str) -> Iterator[IdentityProvider]:
    """The identity provider serving on 127.0.0.1:`port` in a thread, until the block ends."""
    provider = IdentityProvider(base_url=f"http://127.0.0.1:{port}", users=users, password=password)
    server: WSGIServer = make_server("127.0.0.1", port, provider, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--user", action="append", default=[], required=True)
    parser.add_argument("--password", default="")
    args = parser.parse_args(argv)
    password = args.password or secrets.token_urlsafe(12)
    with saml_idp_running(args.port, users=args.user, password=password) as provider:
        print(f"  Metadata URL: {provider.entity_id}\n  Password:     {password}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
