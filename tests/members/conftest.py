"""Single sign-on fixtures: the local OpenID Connect identity provider (a separate Django
project, localdev/oidc_provider, run as its own process for the session) and the
organizations that use it, made through the real signup service."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page

from localdev.saml_idp import IdentityProvider as SamlIdentityProvider
from localdev.saml_idp import saml_idp_running
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.live import (
    ARTIFACTS,
    free_port,
    oidc_provider_running,
    overflow_px,
    serious_violations,
)

# The organizations' slugs: one for the in-process tests (each rolled back), one for the
# browser's (committed, as uvicorn runs in another process).
SSO_SLUGS = ("globex", "initech")
IDP_USERS = [
    "new.person@initech.example",
    "existing@initech.example",
    "outsider@elsewhere.example",
    "removed@initech.example",
]


@dataclass(frozen=True)
class IdentityProviderSite:
    issuer: str
    client_id: str
    client_secret: str
    password: str
    live_port: int  # where the product will run for the browser, for the redirect URI

    def callback(self, slug: str) -> str:
        return f"http://{slug}.localhost:{self.live_port}/accounts/oidc/sso/login/callback/"


@pytest.fixture(scope="session")
def idp(django_db_setup: None) -> Iterator[IdentityProviderSite]:
    live_port, port = free_port(), free_port()
    credentials = {
        "client_id": "knowledge-assistant",
        "client_secret": "local-test-client-secret",
        "password": "idp-password-for-tests",
    }
    redirect_uris = [
        f"http://{slug}.localhost:{live_port}/accounts/oidc/sso/login/callback/"
        for slug in SSO_SLUGS
    ]
    with oidc_provider_running(
        port, redirect_uris=redirect_uris, users=IDP_USERS, **credentials
    ) as issuer:
        yield IdentityProviderSite(issuer=issuer, live_port=live_port, **credentials)


def organization_for_sso(slug: str) -> Organization:
    existing = Organization.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    organization, _ = organization_signup(
        name=slug.capitalize(), slug=slug, owner_email=f"owner@{slug}.example",
        owner_password=OWNER_PASSWORD,
    )  # fmt: skip
    schema_public_activate()
    return organization


@pytest.fixture(scope="session")
def sso_organizations(django_db_setup: None, django_db_blocker) -> dict[str, Organization]:
    with django_db_blocker.unblock():
        return {slug: organization_for_sso(slug) for slug in SSO_SLUGS}


@pytest.fixture
def globex(db: None, sso_organizations: dict[str, Organization]) -> Iterator[Organization]:
    """The in-process tests' organization, its schema in force for the test."""
    organization = sso_organizations["globex"]
    with tenant_context(organization):
        yield organization
    schema_public_activate()


def page_problems(page: Page, name: str, width: int) -> list[str]:
    """A screenshot of the sign-in page or setting as it is now (artifacts/sso/), and what is
    wrong with it: serious accessibility violations, sideways scrolling."""
    (ARTIFACTS / "sso").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "sso" / f"{name}-{width}.png", full_page=True)
    problems = [f"{name} at {width}px: {v}" for v in serious_violations(page)]
    if overflow_px(page) > 0:
        problems.append(f"{name} at {width}px scrolls sideways by {overflow_px(page)}px")
    return problems


SAML_PASSWORD = "saml-idp-password-for-tests"
SAML_USERS = ["new.person@alpha.example", "existing@alpha.example", "outsider@elsewhere.example"]


@pytest.fixture(scope="session")
def saml_idp() -> Iterator[SamlIdentityProvider]:
    """The local SAML identity provider (localdev.saml_idp) in a thread, with a signing key
    made for this run."""
    with saml_idp_running(free_port(), users=SAML_USERS, password=SAML_PASSWORD) as provider:
        yield provider
