"""Only owners and billing admins reach billing pages and actions; to others they are 404."""

import pytest

from accounts.models import Role
from tests.conftest import client_for, signed_in
from tests.factories import make_member

BILLING_REQUESTS = [
    ("get", "/billing/"),
    ("post", "/billing/checkout/"),
    ("post", "/billing/portal/"),
    ("get", "/billing/activating/?session_id=cs_test_x"),
]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
@pytest.mark.parametrize(("method", "path"), BILLING_REQUESTS)
def test_members_and_admins_get_404_for_billing_pages_and_actions(org_a, role, method, path):
    person = make_member(role=role)

    response = getattr(signed_in(org_a, person), method)(path, {"plan": "team"})

    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.OWNER, Role.BILLING_ADMIN])
def test_owners_and_billing_admins_open_billing_and_see_it_in_the_nav(org_a, role):
    person = make_member(role=role)

    page = signed_in(org_a, person).get("/billing/")

    body = page.content.decode()
    assert page.status_code == 200
    assert '<a href="/billing/">Billing</a>' in body
    assert "You are on the <strong>Free</strong> plan" in body
    assert "Upgrade to Team" in body


def test_members_do_not_see_billing_in_the_nav(org_a):
    member = make_member(role=Role.MEMBER)

    body = signed_in(org_a, member).get("/").content.decode()

    assert '<a href="/billing/">Billing</a>' not in body


def test_signed_out_visitor_is_sent_to_sign_in(org_a):
    response = client_for(org_a).get("/billing/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_webhook_endpoint_is_not_served_on_an_organization_subdomain(org_a):
    response = client_for(org_a).post("/billing/stripe/webhook/", b"{}", "application/json")

    assert response.status_code == 404
