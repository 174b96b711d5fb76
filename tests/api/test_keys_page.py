"""Owners and admins create and revoke keys on Members → API keys; the key is shown once and
kept only as a hash; its service account is no member, holds no seat and cannot sign in."""

import re

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from api.key_format import secret_hash
from api.models import ApiKey
from api.services import ApiKeyError, api_key_create
from audit.models import AuditAction, AuditEvent
from members.selectors import member_list, seats_held
from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue
from tests.conftest import client_for, signed_in
from tests.factories import make_member

KEY = re.compile(r"ka_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}")


def test_owner_creates_a_key_shown_once_then_revokes_it(db: None, api_org: ApiOrg):
    browser = signed_in(api_org.organization, api_org.owner)
    assert browser.get("/members/").content.decode().count("/members/api-keys/") == 1
    created = browser.post("/members/api-keys/new/", {
        "name": "Helpdesk bot", "scopes": ["read", "ask"], "workspaces": [api_org.handbook.pk],
        "level": "viewer", "expires_on": "",
    })  # fmt: skip
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    shown = KEY.findall(created.content.decode())
    assert len(shown) == 1
    secret = shown[0]
    listed = browser.get("/members/api-keys/").content.decode()
    assert "Helpdesk bot" in listed and secret not in listed and secret[:11] in listed
    with tenant_context(api_org.organization):
        key = ApiKey.objects.get(name="Helpdesk bot")
        assert key.secret_hash == secret_hash(secret) and secret not in str(key.__dict__)
        assert sorted(key.scopes) == ["ask", "read"]

    api = api_client(api_org, None)
    works = api.get("workspaces/", Authorization=f"Bearer {secret}")
    assert [w["slug"] for w in works.json()] == ["handbook"]

    revoked = browser.post(f"/members/api-keys/{key.pk}/revoke/", follow=True)
    assert "no longer works" in revoked.content.decode()
    assert "Revoked" in revoked.content.decode()
    assert_problem(api.get("workspaces/", Authorization=f"Bearer {secret}"), 401)
    with tenant_context(api_org.organization):
        events = list(
            AuditEvent.objects.filter(target_label="Helpdesk bot").order_by("pk")
            .values_list("action", "actor_label", "details__scopes")
        )  # fmt: skip
    assert events == [
        (AuditAction.API_KEY_CREATED, api_org.owner.email, ["ask", "read"]),
        (AuditAction.API_KEY_REVOKED, api_org.owner.email, None),
    ]


def test_the_form_refuses_bad_input_with_sentences(db: None, api_org: ApiOrg):
    browser = signed_in(api_org.organization, api_org.owner)
    refused = browser.post("/members/api-keys/new/", {
        "name": "", "scopes": ["everything"], "level": "manager", "expires_on": "2001-01-01",
    })  # fmt: skip
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Give the key a name" in page and "after today" in page
    assert not KEY.search(page)


def test_a_key_without_a_workspace_is_refused_with_a_sentence(db: None, api_org: ApiOrg):
    browser = signed_in(api_org.organization, api_org.owner)
    refused = browser.post("/members/api-keys/new/", {
        "name": "Does nothing", "scopes": ["read"], "level": "viewer", "expires_on": "",
    })  # fmt: skip
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Choose at least one workspace: a key without one can read nothing." in page
    assert not KEY.search(page)
    with pytest.raises(ApiKeyError, match="a key without one can read nothing"):
        key_issue(api_org, name="Does nothing")
    with tenant_context(api_org.organization):
        assert not ApiKey.objects.filter(name="Does nothing").exists()


def test_members_and_strangers_do_not_see_the_keys_page(db: None, api_org: ApiOrg):
    with tenant_context(api_org.organization):
        member = make_member(role=Role.MEMBER)
        billing = make_member(role=Role.BILLING_ADMIN)
    issued = key_issue(api_org, workspaces=[api_org.handbook])
    for person in (member, billing):
        browser = signed_in(api_org.organization, person)
        assert browser.get("/members/api-keys/").status_code == 404
        assert browser.post(f"/members/api-keys/{issued.key.pk}/revoke/").status_code == 404
    assert client_for(api_org.organization).get("/members/api-keys/").status_code == 302
    assert api_client(api_org, issued).get("workspaces/").status_code == 200


def test_a_keys_service_account_is_no_member_holds_no_seat_and_cannot_sign_in(
    db: None, api_org: ApiOrg
):
    with tenant_context(api_org.organization):
        seats = seats_held()
    issued = key_issue(api_org, workspaces=[api_org.handbook])
    account = issued.key.service_account
    with tenant_context(api_org.organization):
        assert account not in member_list() and seats_held() == seats
        assert not account.has_usable_password()
    signing_in = client_for(api_org.organization).post(
        "/accounts/login/", {"login": account.email, "password": issued.secret}
    )
    assert signing_in.status_code == 200 and "_auth_user_id" not in signing_in.client.session
    assert (
        account.email
        not in signed_in(api_org.organization, api_org.owner).get("/members/").content.decode()
    )


def test_removing_the_admin_who_made_a_key_revokes_it_and_says_so(db: None, api_org: ApiOrg):
    with tenant_context(api_org.organization):
        admin = make_member(role=Role.ADMIN)
        kept = make_member(role=Role.ADMIN)
    made = key_issue_by(api_org, admin, "Made by the leaver")
    other = key_issue_by(api_org, kept, "Made by who stays")
    api = api_client(api_org, None)
    assert api.get("workspaces/", Authorization=f"Bearer {made}").status_code == 200

    owner = signed_in(api_org.organization, api_org.owner)
    removed = owner.post(f"/members/{admin.pk}/remove/", HTTP_HX_REQUEST="true")
    assert f"{admin.email} was removed. 1 API key they made was revoked." in (
        removed.content.decode()
    )
    assert_problem(api.get("workspaces/", Authorization=f"Bearer {made}"), 401)
    assert api.get("workspaces/", Authorization=f"Bearer {other}").status_code == 200
    row = owner.get("/members/api-keys/").content.decode().split("Made by the leaver")[1]
    assert f"by {admin.email} (removed)" in row.split("</tr>")[0]
    assert "Revoked" in row.split("</tr>")[0]
    with tenant_context(api_org.organization):
        event = AuditEvent.objects.get(
            action=AuditAction.API_KEY_REVOKED, target_label="Made by the leaver"
        )
    assert event.actor_label == api_org.owner.email
    assert admin.email in event.details["reason"]


def test_a_key_stops_working_when_its_maker_is_no_longer_an_admin(db: None, api_org: ApiOrg):
    with tenant_context(api_org.organization):
        admin = make_member(role=Role.ADMIN)
    made = key_issue_by(api_org, admin, "Made before the demotion")
    api = api_client(api_org, None)
    assert api.get("workspaces/", Authorization=f"Bearer {made}").status_code == 200
    owner = signed_in(api_org.organization, api_org.owner)
    owner.post(f"/members/{admin.pk}/role/", {"role": Role.MEMBER}, HTTP_HX_REQUEST="true")
    assert_problem(api.get("workspaces/", Authorization=f"Bearer {made}"), 401)


def key_issue_by(org: ApiOrg, maker: User, name: str) -> str:
    with tenant_context(org.organization):
        return api_key_create(
            actor=maker, name=name, scopes=["read"], workspace_ids=[org.handbook.pk]
        ).secret
