from django_tenants.utils import tenant_context

from accounts.models import Role, User
from tenants.models import DirectoryEntry, Organization
from tests.conftest import client_for, signed_in
from tests.factories import MEMBER_PASSWORD, make_member


def test_owner_changes_a_members_role(org_a: Organization, owner_a: User):
    member = make_member(role=Role.MEMBER)

    response = signed_in(org_a, owner_a).post(
        f"/members/{member.pk}/role/", {"role": "billing_admin"}, HTTP_HX_REQUEST="true"
    )

    member.refresh_from_db()
    assert member.role == Role.BILLING_ADMIN
    assert b"is now billing admin" in response.content
    assert b"<html" not in response.content


def test_last_owner_cannot_demote_themselves(org_a: Organization, owner_a: User):
    response = signed_in(org_a, owner_a).post(f"/members/{owner_a.pk}/role/", {"role": "admin"})

    owner_a.refresh_from_db()
    assert owner_a.role == Role.OWNER
    assert b"at least one owner" in response.content


def test_last_owner_cannot_be_removed(org_a: Organization, owner_a: User):
    response = signed_in(org_a, owner_a).post(f"/members/{owner_a.pk}/remove/")

    owner_a.refresh_from_db()
    assert owner_a.is_active
    assert b"at least one owner" in response.content


def test_an_owner_can_step_down_once_there_is_another_owner(org_a: Organization, owner_a: User):
    make_member(role=Role.OWNER)

    signed_in(org_a, owner_a).post(f"/members/{owner_a.pk}/role/", {"role": "admin"})

    owner_a.refresh_from_db()
    assert owner_a.role == Role.ADMIN


def test_admin_cannot_demote_an_owner(org_a: Organization, owner_a: User):
    make_member(role=Role.OWNER)
    admin = make_member(role=Role.ADMIN)

    response = signed_in(org_a, admin).post(f"/members/{owner_a.pk}/role/", {"role": "member"})

    owner_a.refresh_from_db()
    assert owner_a.role == Role.OWNER
    assert b"Only an owner" in response.content


def test_billing_admin_cannot_change_roles(org_a: Organization):
    billing = make_member(role=Role.BILLING_ADMIN)
    member = make_member(role=Role.MEMBER)

    response = signed_in(org_a, billing).post(f"/members/{member.pk}/role/", {"role": "admin"})

    member.refresh_from_db()
    assert response.status_code == 404
    assert member.role == Role.MEMBER


def test_removed_member_loses_their_session_and_cannot_sign_in(org_a: Organization, owner_a: User):
    member = make_member(email="leaving@example.com")
    DirectoryEntry.objects.create(email=member.email, organization=org_a)
    members_client = signed_in(org_a, member)
    assert members_client.get("/").status_code == 200

    signed_in(org_a, owner_a).post(f"/members/{member.pk}/remove/")

    assert members_client.get("/")["Location"].startswith("/accounts/login/")
    fresh = client_for(org_a)
    fresh.post("/accounts/login/", {"login": member.email, "password": MEMBER_PASSWORD})
    assert fresh.get("/")["Location"].startswith("/accounts/login/")
    assert not DirectoryEntry.objects.filter(email=member.email).exists()
    with tenant_context(org_a):
        assert User.objects.filter(email=member.email, is_active=False).exists()


def test_roles_are_explained_where_they_are_chosen(org_a: Organization, owner_a: User):
    client = signed_in(org_a, owner_a)

    members = client.get("/members/").content.decode()
    single_sign_on = client.get("/members/single-sign-on/").content.decode()

    for page in (members, single_sign_on):
        assert "What each role may do" in page
        assert "Chooses the plan, manages payment and invoices" in page
