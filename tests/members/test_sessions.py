"""Sessions: signed out after SESSION_IDLE_TIMEOUT_MINUTES without a request, and "Sign out
my other sessions" (allauth.usersessions) ends every other session of the person at once."""

import time

from django.test import Client

from accounts.models import Role, User
from accounts.sessions import IDLE_KEY
from audit.models import AuditAction, AuditEvent
from tenants.models import Organization
from tests.conftest import client_for, signed_in
from tests.factories import MEMBER_PASSWORD, make_member


def _idle_for(client: Client, minutes: float) -> None:
    session = client.session
    session[IDLE_KEY] = time.time() - minutes * 60
    session.save()


def test_a_session_idle_past_the_timeout_is_signed_out(
    org_a: Organization, owner_a: User, settings
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    client = signed_in(org_a, owner_a)
    assert client.get("/members/").status_code == 200

    _idle_for(client, 31)
    response = client.get("/members/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fmembers%2F"
    assert client.get("/members/")["Location"].startswith("/accounts/login/")
    page = client.get("/accounts/login/").content.decode()
    assert "signed out after 30 minutes without activity" in page


def test_a_session_used_within_the_timeout_stays_signed_in(
    org_a: Organization, owner_a: User, settings
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    client = signed_in(org_a, owner_a)
    client.get("/members/")

    _idle_for(client, 29)

    assert client.get("/members/").status_code == 200
    assert client.session[IDLE_KEY] > time.time() - 60  # the request counted as activity


def test_an_idle_htmx_request_sends_the_page_to_sign_in(
    org_a: Organization, owner_a: User, settings
):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    client = signed_in(org_a, owner_a)
    client.get("/members/")
    _idle_for(client, 45)

    response = client.post(
        "/members/groups/new/", {"name": "Late"}, HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://alpha.localhost/members/groups/",
    )  # fmt: skip

    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fmembers%2Fgroups%2F"
    assert not AuditEvent.objects.exists()  # the group was not created


def test_a_timeout_of_zero_never_signs_out(org_a: Organization, owner_a: User, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 0
    client = signed_in(org_a, owner_a)
    client.get("/members/")

    _idle_for(client, 60 * 24 * 10)

    assert client.get("/members/").status_code == 200


def _signed_in_with_password(organization: Organization, user: User, address: str) -> Client:
    client = client_for(organization)
    client.defaults["REMOTE_ADDR"] = address
    client.defaults["HTTP_USER_AGENT"] = f"Browser at {address}"
    response = client.post("/accounts/login/", {"login": user.email, "password": MEMBER_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_signing_out_other_sessions_ends_them_and_keeps_this_one(org_a: Organization):
    person = make_member(role=Role.MEMBER, email="traveller@example.com")
    laptop = _signed_in_with_password(org_a, person, "198.51.100.1")
    phone = _signed_in_with_password(org_a, person, "198.51.100.2")
    tablet = _signed_in_with_password(org_a, person, "198.51.100.3")
    other = make_member(email="bystander@example.com")
    bystander = _signed_in_with_password(org_a, other, "198.51.100.9")

    page = laptop.get("/accounts/sessions/").content.decode()
    assert "198.51.100.2" in page and "198.51.100.3" in page and "198.51.100.9" not in page
    assert "Sign out my other sessions" in page

    laptop.post("/accounts/sessions/")

    assert laptop.get("/").status_code == 200
    assert phone.get("/")["Location"].startswith("/accounts/login/")
    assert tablet.get("/")["Location"].startswith("/accounts/login/")
    assert bystander.get("/").status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.SESSIONS_ENDED)
    assert (event.actor, event.ip_address) == (person, "198.51.100.1")
    assert event.details == {"sessions": 2, "addresses": ["198.51.100.2", "198.51.100.3"]}


def test_the_sessions_page_needs_a_signed_in_person(org_a: Organization):
    response = client_for(org_a).get("/accounts/sessions/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
