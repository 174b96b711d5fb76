import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import Role, User
from billing.models import Plan
from members.actions.signup import handoff_issue
from tenants.models import DirectoryEntry, Organization
from tenants.schemas import schema_public_activate
from tests.conftest import client_for

SIGNUP = {
    "name": "Acme Inc",
    "slug": "acme",
    "email": "Founder@Acme.example",
    "password": "a-long-enough-password",
}


def test_signup_creates_schema_and_owner_then_hands_off_to_the_subdomain(public_client: Client):
    response = public_client.post("/", SIGNUP)

    assert response.status_code == 303
    location = urlparse(response["Location"])
    assert location.hostname == "acme.localhost"
    assert location.path == "/handoff/"
    organization = Organization.objects.get(slug="acme")
    assert schema_exists(organization.schema_name)
    assert DirectoryEntry.objects.filter(
        email="founder@acme.example", organization=organization
    ).exists()
    with tenant_context(organization):
        owner = User.objects.get(email="founder@acme.example")
        assert owner.role == Role.OWNER
    subdomain = client_for(organization)
    landed = subdomain.get(f"{location.path}?{location.query}", follow=True)
    assert landed.redirect_chain[-1][0] == "/"
    assert b"Welcome to Acme Inc" in landed.content
    assert b"Create a workspace" in landed.content


def test_signup_through_htmx_redirects_the_browser_to_the_subdomain(public_client: Client):
    response = public_client.post("/", {**SIGNUP, "slug": "acme-htmx"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert urlparse(response["HX-Redirect"]).hostname == "acme-htmx.localhost"


def test_owner_gets_a_verification_link_for_their_subdomain_and_it_verifies(public_client: Client):
    response = public_client.post("/", {**SIGNUP, "slug": "verify-me"})
    location = urlparse(response["Location"])
    organization = Organization.objects.get(slug="verify-me")
    client = client_for(organization)
    client.get(f"{location.path}?{location.query}")

    assert len(mail.outbox) == 1
    link = re.search(
        r"http://verify-me\.localhost/accounts/confirm-email/\S+", str(mail.outbox[0].body)
    )
    assert link is not None
    client.post(str(urlparse(link.group(0)).path))
    with tenant_context(organization):
        assert EmailAddress.objects.get(email="founder@acme.example").verified


def test_handoff_token_signs_in_only_once(public_client: Client):
    response = public_client.post("/", {**SIGNUP, "slug": "once"})
    location = urlparse(response["Location"])
    url = f"{location.path}?{location.query}"
    organization = Organization.objects.get(slug="once")

    first = client_for(organization).get(url)
    second = client_for(organization).get(url)

    assert first["Location"] == "/"
    assert second["Location"].startswith("/accounts/login/")


def test_handoff_token_of_one_organization_is_refused_by_another(
    org_a: Organization, org_b: Organization, owner_a: User
):
    token = handoff_issue(user=owner_a)
    schema_public_activate()

    response = client_for(org_b).get(f"/handoff/?token={token}")

    assert response["Location"].startswith("/accounts/login/")


def test_handoff_token_expires(org_a: Organization, owner_a: User, settings):
    token = handoff_issue(user=owner_a)
    settings.HANDOFF_MAX_AGE_SECONDS = -1

    response = client_for(org_a).get(f"/handoff/?token={token}")

    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("ab", "3 to 40 characters"),
        ("a" * 41, "3 to 40 characters"),
        ("acme_corp", "lowercase letters, digits and single hyphens"),
        ("-acme", "lowercase letters, digits and single hyphens"),
        ("ac--me", "lowercase letters, digits and single hyphens"),
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("public", "reserved"),
        ("alpha", "already taken"),
    ],
)
def test_signup_refuses_bad_slugs_with_a_clear_message(
    public_client: Client, slug: str, message: str
):
    response = public_client.post("/", {**SIGNUP, "slug": slug})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Organization.objects.filter(name="Acme Inc").exists()


def test_signup_keeps_what_was_typed_when_the_password_is_weak(public_client: Client):
    response = public_client.post("/", {**SIGNUP, "slug": "weakling", "password": "123"})

    body = response.content.decode()
    assert "This password is too short" in body
    assert 'value="weakling"' in body
    assert not Organization.objects.filter(slug="weakling").exists()


def test_slug_check_answers_with_the_feedback_fragment_only(public_client: Client):
    taken = public_client.get("/signup/check-slug/", {"slug": "alpha"}, HTTP_HX_REQUEST="true")
    free = public_client.get("/signup/check-slug/", {"slug": "fresh-name"}, HTTP_HX_REQUEST="true")

    assert b"already taken" in taken.content
    assert b"<html" not in taken.content
    assert b"fresh-name.localhost is available" in free.content


def test_public_page_lists_the_public_plans_from_the_plans_table(public_client: Client):
    Plan.objects.create(
        name="Enterprise test", slug="enterprise-test", stripe_price_id="price_ent_test",
        monthly_price_cents=129_900, questions_per_period=1_000_000, max_documents=100_000,
        max_storage_bytes=2**40, max_members=5_000, max_workspaces=500, position=99,
    )  # fmt: skip
    Plan.objects.create(
        name="Hidden test", slug="hidden-test", questions_per_period=1, max_documents=1,
        max_storage_bytes=1, max_members=1, max_workspaces=1, is_public=False,
    )  # fmt: skip

    page = public_client.get("/").content.decode()

    card = page.split('data-plan="enterprise-test"')[1].split("</article>")[0]
    assert "<h3>Enterprise test</h3><p>$1,299 / month</p>" in card
    assert "<li>1,000,000 questions per month</li>" in card
    assert 'data-plan="hidden-test"' not in page
    assert 'href="/#start"' in page  # "Start free" in the header
    assert '<article id="start">' in page
