from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from members.models import Invitation
from members.services import invitation_create, invitation_token
from tenants.models import DirectoryEntry, Organization
from tenants.schemas import schema_public_activate
from tests.conftest import client_for, signed_in
from tests.factories import make_member

NEW_PASSWORD = "a-new-members-password"


def invite(owner: User, email: str = "newcomer@example.com", role: str = Role.MEMBER) -> str:
    invitation = invitation_create(
        actor=owner, email=email, role=role, site_root="http://alpha.localhost"
    )
    return invitation_token(invitation=invitation)


def accept(org: Organization, token: str, password: str = NEW_PASSWORD):
    client = client_for(org)
    response = client.post(
        f"/invite/{token}/",
        {"full_name": "New Comer", "password1": password, "password2": password},
    )
    return client, response


def test_owner_invites_from_the_members_page(
    org_a: Organization, owner_a: User, django_capture_on_commit_callbacks
):
    client = signed_in(org_a, owner_a)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/members/invite/",
            {"email": "Invitee@Example.com", "role": "billing_admin"},
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == 200
    assert b"Invitation sent." in response.content
    assert b"invitee@example.com" in response.content
    assert Invitation.objects.get(email="invitee@example.com").role == Role.BILLING_ADMIN
    assert len(callbacks) == 1  # the email is queued once the invitation is committed


def test_accepting_creates_the_account_in_that_organization_only(
    org_a: Organization, org_b: Organization, owner_a: User
):
    token = invite(owner_a, role=Role.ADMIN)

    client, response = accept(org_a, token)

    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    with tenant_context(org_a):
        member = User.objects.get(email="newcomer@example.com")
        assert member.role == Role.ADMIN
        assert member.full_name == "New Comer"
    with tenant_context(org_b):
        assert not User.objects.filter(email="newcomer@example.com").exists()
    assert DirectoryEntry.objects.filter(email="newcomer@example.com", organization=org_a).exists()


def test_invitation_link_cannot_be_used_twice(org_a: Organization, owner_a: User):
    token = invite(owner_a)
    accept(org_a, token)

    _, response = accept(org_a, token, password="another-password-987")

    assert response.status_code == 410
    assert b"already been used" in response.content


def test_expired_invitation_is_refused(org_a: Organization, owner_a: User):
    token = invite(owner_a)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client_for(org_a).get(f"/invite/{token}/")

    assert response.status_code == 410
    assert b"expired" in response.content


def test_invitation_signature_expires_with_its_max_age(
    org_a: Organization, owner_a: User, settings
):
    token = invite(owner_a)
    settings.INVITATION_MAX_AGE_SECONDS = -1

    response = client_for(org_a).get(f"/invite/{token}/")

    assert response.status_code == 410
    assert b"expired" in response.content


def test_invitation_of_one_organization_is_invalid_in_another(
    org_a: Organization, org_b: Organization, owner_a: User
):
    token = invite(owner_a)
    schema_public_activate()

    response = client_for(org_b).get(f"/invite/{token}/")

    assert response.status_code == 410
    assert b"not valid" in response.content


def test_tampered_invitation_link_is_refused(org_a: Organization, owner_a: User):
    token = invite(owner_a)

    response = client_for(org_a).get(f"/invite/{token[:-3]}abc/")

    assert response.status_code == 410
    assert b"not valid" in response.content


def test_withdrawn_invitation_is_refused(org_a: Organization, owner_a: User):
    token = invite(owner_a)
    client = signed_in(org_a, owner_a)
    client.post(f"/members/invitations/{Invitation.objects.get().pk}/withdraw/")

    response = client_for(org_a).get(f"/invite/{token}/")

    assert response.status_code == 410
    assert b"withdrawn" in response.content


def test_a_new_invitation_supersedes_the_pending_one(org_a: Organization, owner_a: User):
    first = invite(owner_a)
    second = invite(owner_a)

    _, stale = accept(org_a, first)
    _, fresh = accept(org_a, second)

    assert stale.status_code == 410
    assert fresh["Location"] == "/"


def test_inviting_an_existing_member_is_refused(org_a: Organization, owner_a: User):
    client = signed_in(org_a, owner_a)

    response = client.post("/members/invite/", {"email": "owner@alpha.example", "role": "member"})

    assert b"already a member" in response.content
    assert not Invitation.objects.exists()


def test_members_cannot_open_the_members_page_or_invite(org_a: Organization):
    member = make_member(role=Role.MEMBER)
    client = signed_in(org_a, member)

    assert client.get("/members/").status_code == 404
    assert (
        client.post("/members/invite/", {"email": "x@example.com", "role": "member"}).status_code
        == 404
    )
    assert not Invitation.objects.exists()


def test_accept_form_rejects_mismatched_passwords_and_keeps_the_invitation(
    org_a: Organization, owner_a: User
):
    token = invite(owner_a)
    client = client_for(org_a)

    response = client.post(
        f"/invite/{token}/", {"password1": NEW_PASSWORD, "password2": "something-else-1"}
    )

    assert b"The two passwords differ." in response.content
    assert Invitation.objects.get().accepted_at is None


def test_admins_may_not_invite_owners(org_a: Organization):
    admin = make_member(role=Role.ADMIN)
    client = signed_in(org_a, admin)

    response = client.post("/members/invite/", {"email": "boss@example.com", "role": "owner"})

    assert b"Only an owner can grant or take away the owner role." in response.content
    assert not Invitation.objects.filter(email="boss@example.com").exists()
