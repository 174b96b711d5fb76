"""A user of organization A gets no session, page or object of organization B."""

from django_tenants.utils import tenant_context

from accounts.models import User
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import client_for, signed_in
from tests.factories import OWNER_PASSWORD, make_member


def test_owner_signs_in_on_their_own_subdomain(org_a: Organization):
    client = client_for(org_a)

    response = client.post(
        "/accounts/login/", {"login": "owner@alpha.example", "password": OWNER_PASSWORD}
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_owner_cannot_sign_in_on_another_organizations_subdomain(
    org_a: Organization, org_b: Organization
):
    client = client_for(org_b)

    response = client.post(
        "/accounts/login/", {"login": "owner@alpha.example", "password": OWNER_PASSWORD}
    )

    assert response.status_code == 200
    assert b"not correct" in response.content
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_session_of_one_organization_is_not_a_session_in_another(
    org_a: Organization, org_b: Organization, owner_a: User
):
    client = signed_in(org_a, owner_a)
    assert client.get("/").status_code == 200

    # Same cookie jar, B's host: B's schema has no such session.
    response = client.get("/members/", HTTP_HOST="bravo.localhost")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_ids_of_another_organization_do_not_reach_its_objects(
    org_a: Organization, org_b: Organization, owner_a: User
):
    schema_public_activate()
    with tenant_context(org_b):
        outsider = make_member(email="outsider@bravo.example")
    client = signed_in(org_a, owner_a)

    role_change = client.post(f"/members/{outsider.pk}/role/", {"role": "admin"})
    removal = client.post(f"/members/{outsider.pk}/remove/")

    assert role_change.status_code == 404
    assert removal.status_code == 404
    with tenant_context(org_b):
        outsider.refresh_from_db()
        assert outsider.role == "member"
        assert outsider.is_active


def test_members_page_of_a_organization_lists_only_its_people(org_a: Organization, owner_a: User):
    client = signed_in(org_a, owner_a)

    body = client.get("/members/").content.decode()

    assert "owner@alpha.example" in body
    assert "owner@bravo.example" not in body
