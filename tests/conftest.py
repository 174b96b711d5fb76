"""Shared fixtures: two organizations made once per session through the real signup
service (schema cloned from the template), and clients bound to their subdomains."""

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django_tenants.utils import tenant_context

from accounts.models import User
from billing.rate_limits import rate_limits_reset
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tenants.services import platform_ensure
from tests.factories import OWNER_PASSWORD
from tests.schema_guard import CROSSINGS, guard_install
from workspaces.models import Workspace


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[None]:
    created = None
    with django_db_blocker.unblock():
        if not connection.settings_dict["NAME"].startswith("test_"):
            # pytest-django creates the test database only when a collected test asks for
            # `db`; tests that commit across threads (streams, workers, a browser) ask for
            # none, and must never write to the development database.
            created = setup_databases(verbosity=0, interactive=False, aliases={"default"})  # type: ignore[arg-type]
        platform_ensure()
        for slug in ("alpha", "bravo"):
            organization_signup(
                name=slug.capitalize(),
                slug=slug,
                owner_email=f"owner@{slug}.example",
                owner_password=OWNER_PASSWORD,
            )
        schema_public_activate()
    yield
    if created is not None:
        with django_db_blocker.unblock(), contextlib.suppress(Exception):
            # A stream's thread may still hold a connection; the next run clobbers it.
            teardown_databases(created, verbosity=0)


@pytest.fixture
def org_a(db: None) -> Iterator[Organization]:
    """Organization A with its schema in force on the connection for the test."""
    organization = Organization.objects.get(slug="alpha")
    with tenant_context(organization):
        yield organization
    schema_public_activate()


@pytest.fixture
def org_b(db: None) -> Organization:
    organization: Organization = Organization.objects.get(slug="bravo")
    return organization


@pytest.fixture
def owner_a(org_a: Organization) -> User:
    return User.objects.get(email="owner@alpha.example")


def client_for(organization: Organization) -> Client:
    return Client(HTTP_HOST=f"{organization.slug}.{settings.BASE_DOMAIN}")


def signed_in(organization: Organization, user: User) -> Client:
    """A client of the organization's subdomain with `user` signed in there."""
    client = client_for(organization)
    with tenant_context(organization):
        client.force_login(user)
    return client


@pytest.fixture
def client_a(org_a: Organization) -> Client:
    return client_for(org_a)


@pytest.fixture
def public_client(db: None) -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


@pytest.fixture(scope="session", autouse=True)
def schema_guard() -> Iterator[None]:
    """Statements that would not survive the move to Citus fail (tests/schema_guard.py)."""
    uninstall = guard_install()
    yield
    uninstall()


@pytest.fixture(autouse=True)
def no_schema_crossings() -> Iterator[None]:
    CROSSINGS.clear()
    yield
    assert not CROSSINGS, "\n".join(CROSSINGS)


@pytest.fixture(autouse=True)
def throttles_reset() -> None:
    """Each test starts with no sign-in or signup attempts counted (they live in the cache),
    and no questions or uploads counted against the rate limits (in Redis)."""
    cache.clear()
    rate_limits_reset()


@pytest.fixture(autouse=True)
def schema_public_after() -> Iterator[None]:
    """A request through the test client leaves the connection on its organization's schema;
    the next test, and a session fixture that test is the first to ask for (it creates an
    organization, which only the public schema may), start on the public schema."""
    yield
    schema_public_activate()


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def workspace(org_a: Organization, owner_a: User) -> Workspace:
    """A restricted workspace of organization A."""
    from workspaces.services import workspace_create

    return workspace_create(actor=owner_a, name="Handbook", description="Policies")


# The Cloud KMS key the tests' envelope encryption uses when they ask for it (`kms`): a key
# of the local Cloud KMS-format server, reached through google-cloud-kms's own client.
KMS_KEY = "projects/local/locations/global/keyRings/saas/cryptoKeys/secrets"


@pytest.fixture(scope="session")
def kms_server() -> Iterator[Any]:
    from localdev.kms_server import KmsLocalServer

    server = KmsLocalServer().start()
    yield server
    server.stop()


def kms_environment(server: Any) -> dict[str, str]:
    """The settings (and a child process's environment) that make the Cloud KMS key the
    key-encryption key."""
    return {
        "SECRETS_KMS_KEY": KMS_KEY,
        "SECRETS_KMS_ENDPOINT": server.endpoint,
        "SECRETS_KMS_ACCESS_TOKEN": server.token,
    }


@pytest.fixture
def kms(kms_server: Any, settings: Any) -> Any:
    """Secrets sealed in this test are wrapped by the local Cloud KMS key."""
    for name, value in kms_environment(kms_server).items():
        setattr(settings, name, value)
    kms_server.requests.clear()
    return kms_server
