"""SAML 2.0 single sign-on in a real browser: Chromium signs in to an organization running
under uvicorn through the local SAML identity provider (a key made per run, the answer posted
back by its auto-submitting form), is refused an expired answer with a page that says why,
and the owner's SAML settings page fits a phone and a laptop."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from localdev.saml_idp import IdentityProvider as SamlIdentityProvider
from members.actions.single_sign_on import identity_provider_configure_saml
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.live import chromium_page, free_port, uvicorn_running
from tests.members.conftest import SAML_PASSWORD, organization_for_sso, page_problems


@dataclass(frozen=True)
class Site:
    url: str
    organization: Organization


@pytest.fixture(scope="module")
def site(
    django_db_setup: None, django_db_blocker, saml_idp: SamlIdentityProvider
) -> Iterator[Site]:
    with django_db_blocker.unblock():
        organization = organization_for_sso("umbrella")
        with tenant_context(organization):
            identity_provider_configure_saml(
                actor=User.objects.get(email="owner@umbrella.example"), name="Umbrella ID",
                metadata_url=f"{saml_idp.base_url}/metadata", metadata_xml="",
                allowed_domains=["alpha.example"], default_role=Role.ADMIN, require_sso=False,
            )  # fmt: skip
    schema_public_activate()
    port = free_port()
    with uvicorn_running(port):
        yield Site(f"http://umbrella.localhost:{port}", organization)


def _sign_in_with_saml(page: Page, site: Site, email: str, response: str) -> None:
    page.goto(site.url + "/accounts/login/")
    page.get_by_role("button", name="Sign in with Umbrella ID").click()
    expect(page.get_by_role("heading", name="Local SAML identity provider")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(SAML_PASSWORD)
    page.get_by_label("Response").select_option(response)
    page.get_by_role("button", name="Sign in").click()


def test_saml_sign_in_creates_the_member_and_an_expired_answer_is_refused(
    db: None, site: Site, django_db_blocker
):
    problems: list[str] = []
    with chromium_page() as page:
        _sign_in_with_saml(page, site, "new.person@alpha.example", "valid")
        expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_be_visible()
        page.context.clear_cookies()
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 860})
            _sign_in_with_saml(page, site, "existing@alpha.example", "expired")
            expect(page.get_by_role("heading", name="You could not be signed in")).to_be_visible()
            expect(page.get_by_role("alert")).to_contain_text("answer has expired")
            problems += page_problems(page, "saml-refused", width)
    assert not problems, "\n".join(problems)
    # After the browser has closed: Playwright's event loop makes the ORM refuse to run.
    with django_db_blocker.unblock(), tenant_context(site.organization):
        assert User.objects.get(email="new.person@alpha.example").role == Role.ADMIN
        assert not User.objects.filter(email="existing@alpha.example").exists()
    schema_public_activate()


def test_saml_settings_page_fits_a_phone_and_a_laptop(
    db: None, site: Site, saml_idp: SamlIdentityProvider
):
    problems: list[str] = []
    with chromium_page() as page:
        page.goto(site.url + "/accounts/login/")
        page.locator("input[name=login]").fill("owner@umbrella.example")
        page.locator("input[name=password]").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator(".nav-wide").get_by_role("link", name="Members")).to_be_visible()
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(site.url + "/members/single-sign-on/")
            expect(page.get_by_test_id("saml-acs-url")).to_have_text(
                site.url + "/accounts/saml/sso/acs/"
            )
            expect(page.get_by_label("Identity provider metadata URL")).to_have_value(
                f"{saml_idp.base_url}/metadata"
            )
            problems += page_problems(page, "saml-settings", width)
    assert not problems, "\n".join(problems)
