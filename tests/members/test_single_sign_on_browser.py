"""Single sign-on end to end: a person in a real browser signs in to an organization through
its OpenID Connect identity provider (the local django-oauth-toolkit one, RS256-signed ID
tokens, discovery, PKCE), driven through django-allauth's OpenID Connect provider in the
product running under uvicorn."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import override_settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from localdev.kms_server import KmsLocalServer
from members.actions.single_sign_on import identity_provider_configure
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import kms_environment
from tests.factories import MEMBER_PASSWORD, OWNER_PASSWORD, make_member
from tests.live import chromium_page, uvicorn_running
from tests.members.conftest import IdentityProviderSite, page_problems


@dataclass(frozen=True)
class Site:
    url: str
    organization: Organization
    idp: IdentityProviderSite


@pytest.fixture(scope="module")
def site(
    sso_organizations: dict[str, Organization],
    idp: IdentityProviderSite,
    django_db_blocker,
    kms_server: KmsLocalServer,
) -> Iterator[Site]:
    organization = sso_organizations["initech"]
    # The client secret is wrapped by the (local) Cloud KMS key, here and in the product's
    # server, which opens it through google-cloud-kms's client on every sign-in.
    kms = kms_environment(kms_server)
    with django_db_blocker.unblock(), tenant_context(organization), override_settings(**kms):
        identity_provider_configure(
            actor=User.objects.get(email="owner@initech.example"),
            name="Initech ID",
            issuer_url=idp.issuer,
            client_id=idp.client_id,
            client_secret=idp.client_secret,
            allowed_domains=["initech.example"],
            default_role=Role.ADMIN,
            require_sso=False,
        )
        if not User.objects.filter(email="existing@initech.example").exists():
            make_member(email="existing@initech.example", full_name="Existing Person")
            make_member(email="removed@initech.example", is_active=False)
    schema_public_activate()
    with uvicorn_running(idp.live_port, **kms):
        yield Site(f"http://initech.localhost:{idp.live_port}", organization, idp)


def _sign_in_with_identity_provider(page: Page, site: Site, email: str) -> None:
    page.goto(site.url + "/accounts/login/")
    page.get_by_role("button", name="Sign in with Initech ID").click()
    expect(page.get_by_role("heading", name="Local identity provider")).to_be_visible()
    page.get_by_label("Username").fill(email)
    page.get_by_label("Password").fill(site.idp.password)
    page.get_by_role("button", name="Continue").click()


def _sign_out(page: Page, site: Site) -> None:
    page.goto(site.url + "/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()
    expect(page.get_by_role("heading", name="Sign in to Initech")).to_be_visible()


def _in_schema(site: Site, django_db_blocker, read):
    # After the browser has closed: Playwright's event loop makes the ORM refuse to run.
    with django_db_blocker.unblock(), tenant_context(site.organization):
        result = read()
    schema_public_activate()
    return result


def test_first_sign_in_creates_the_member_with_the_default_role_and_the_next_reuses_it(
    db: None, site: Site, django_db_blocker, kms_server: KmsLocalServer
):
    email = "new.person@initech.example"
    kms_server.requests.clear()
    with chromium_page() as page:
        _sign_in_with_identity_provider(page, site, email)

        expect(page.locator(".nav-wide").get_by_text("New Person")).to_be_visible()
        # The default role (admin) shows: admins manage members.
        expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_be_visible()
        _sign_out(page, site)
        # The identity provider remembers the person: the second time goes straight through.
        page.get_by_role("button", name="Sign in with Initech ID").click()
        expect(page.locator(".nav-wide").get_by_text("New Person")).to_be_visible()

    def created() -> tuple[list[tuple[str, str]], int, list[dict]]:
        users = list(User.objects.filter(email=email).values_list("role", "full_name"))
        links = SocialAccount.objects.filter(user__email=email, provider="sso").count()
        joined = AuditEvent.objects.filter(action=AuditAction.MEMBER_JOINED, actor_label=email)
        return users, links, [event.details for event in joined]

    users, links, joined = _in_schema(site, django_db_blocker, created)
    assert users == [(Role.ADMIN, "New Person")]
    assert links == 1
    assert joined == [{"role": "admin", "via": "single sign-on", "provider": "Initech ID"}]
    # The product's server opened the client secret through the Cloud KMS key.
    assert "decrypt" in {request["method"] for request in kms_server.requests}


def test_an_existing_member_is_connected_not_duplicated(db: None, site: Site, django_db_blocker):
    email = "existing@initech.example"
    with chromium_page() as page:
        _sign_in_with_identity_provider(page, site, email)

        expect(page.locator(".nav-wide").get_by_text("Existing Person")).to_be_visible()
        expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_have_count(0)

    def accounts() -> tuple[list[str], list[str]]:
        roles = list(User.objects.filter(email=email).values_list("role", flat=True))
        linked = SocialAccount.objects.filter(provider="sso", user__email=email)
        return roles, [account.user.email for account in linked]

    assert _in_schema(site, django_db_blocker, accounts) == ([Role.MEMBER], [email])


def test_an_address_outside_the_allowed_domains_is_refused(db: None, site: Site, django_db_blocker):
    email = "outsider@elsewhere.example"
    with chromium_page() as page:
        _sign_in_with_identity_provider(page, site, email)

        expect(page.get_by_role("heading", name="You could not be signed in")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text(
            f"{email} may not sign in to Initech with Initech ID: only addresses at "
            "initech.example can."
        )
        page.goto(site.url + "/")
        expect(page.get_by_role("heading", name="Sign in to Initech")).to_be_visible()
    exists = _in_schema(site, django_db_blocker, User.objects.filter(email=email).exists)
    assert exists is False


def test_a_removed_member_is_not_let_back_in_by_single_sign_on(
    db: None, site: Site, django_db_blocker
):
    with chromium_page() as page:
        _sign_in_with_identity_provider(page, site, "removed@initech.example")

        expect(page.get_by_role("alert")).to_have_text(
            "removed@initech.example was removed from Initech. Ask an owner or admin to "
            "invite you again."
        )
        page.goto(site.url + "/")
        expect(page.get_by_role("heading", name="Sign in to Initech")).to_be_visible()
    active = User.objects.filter(email="removed@initech.example", is_active=True).exists
    assert _in_schema(site, django_db_blocker, active) is False


def _password_sign_in(page: Page, site: Site, email: str, password: str) -> None:
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_sign_in_and_settings_pages_fit_a_phone_and_a_laptop(db: None, site: Site):
    problems: list[str] = []
    with chromium_page() as page:
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(site.url + "/accounts/login/")
            expect(page.get_by_role("button", name="Sign in with Initech ID")).to_be_visible()
            problems += page_problems(page, "sign-in", width)
        _password_sign_in(page, site, "owner@initech.example", OWNER_PASSWORD)
        expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_be_visible()
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(site.url + "/members/single-sign-on/")
            expect(page.get_by_role("heading", name="Single sign-on", exact=True)).to_be_visible()
            expect(page.get_by_label("Client ID")).to_have_value(site.idp.client_id)
            expect(page.get_by_label("Client secret")).to_have_value("")
            assert site.idp.client_secret not in page.content()
            problems += page_problems(page, "settings", width)
    assert not problems, "\n".join(problems)


def test_require_single_sign_on_keeps_the_owner_in_and_a_member_out(db: None, site: Site):
    with chromium_page() as page:
        _require_sso_and_sign_in_again(page, site)


def _require_sso_and_sign_in_again(page: Page, site: Site) -> None:
    page.goto(site.url + "/accounts/login/")
    _password_sign_in(page, site, "owner@initech.example", OWNER_PASSWORD)
    page.goto(site.url + "/members/single-sign-on/")
    page.get_by_label("Require single sign-on").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Single sign-on settings saved.")).to_be_visible()
    _sign_out(page, site)

    expect(page.get_by_text("The password form below is for owners only.")).to_be_visible()
    _password_sign_in(page, site, "existing@initech.example", MEMBER_PASSWORD)
    expect(page.get_by_text("Your organization signs in with Initech ID")).to_be_visible()
    _password_sign_in(page, site, "owner@initech.example", OWNER_PASSWORD)
    expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_be_visible()


def test_scim_provisioning_page_makes_a_token_and_fits_a_phone_and_a_laptop(db: None, site: Site):
    problems: list[str] = []
    with chromium_page() as page:
        page.goto(site.url + "/accounts/login/")
        _password_sign_in(page, site, "owner@initech.example", OWNER_PASSWORD)
        expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_be_visible()
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(site.url + "/members/single-sign-on/")
            page.get_by_role("link", name="SCIM provisioning").click()
            expect(page.get_by_test_id("scim-base-url")).to_have_text(site.url + "/scim/v2/")
            page.get_by_role("button", name="Make a SCIM token").click()
            expect(page.get_by_role("heading", name="Your new SCIM token")).to_be_visible()
            expect(page.get_by_role("textbox", name="Token")).to_have_value(
                re.compile(r"^scim_[0-9a-f]{8}_")
            )
            problems += page_problems(page, "scim", width)
    assert not problems, "\n".join(problems)
