from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from members.actions.invitations import invitation_create, invitation_token
from members.models import Invitation
from tenants.models import DirectoryEntry, Organization
from tenants.schemas import schema_public_activate
from tests.conftest import client_for, signed_in
from tests.factories import make_invitation, make_member

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
    assert "<strong>invitee@example.com</strong>: invitation sent." in response.content.decode()
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


def test_a_second_invitation_resends_the_pending_one_whose_first_link_still_works(
    org_a: Organization, owner_a: User
):
    first = invite(owner_a)
    invite(owner_a, role=Role.ADMIN)

    _, response = accept(org_a, first)

    assert response["Location"] == "/"
    assert User.objects.get(email="newcomer@example.com").role == Role.ADMIN
    assert Invitation.objects.count() == 1


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


def test_several_addresses_are_invited_at_once_with_a_sentence_for_each(
    org_a: Organization, owner_a: User, django_capture_on_commit_callbacks
):
    make_invitation(email="pending@example.com")
    client = signed_in(org_a, owner_a)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/members/invite/",
            {
                "email": "one@example.com, Two@Example.com\nnot-an-address\n"
                "owner@alpha.example; pending@example.com, one@example.com",
                "role": "member",
            },
            HTTP_HX_REQUEST="true",
        )

    page = response.content.decode()
    today = date_format(timezone.localtime(), "j M Y")
    assert response.status_code == 200
    assert "<strong>one@example.com</strong>: invitation sent." in page
    assert "<strong>two@example.com</strong>: invitation sent." in page
    assert "<strong>not-an-address</strong>: not invited: this is not an email address." in page
    assert (
        "<strong>owner@alpha.example</strong>: not invited: owner@alpha.example is already a member"
        in page
    )
    assert (
        f"<strong>pending@example.com</strong>: already invited on {today}; invitation sent again."
        in page
    )
    assert page.count("<strong>one@example.com</strong>") == 1
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "one@example.com",
        "pending@example.com",
        "two@example.com",
    ]
    assert len(callbacks) == 3  # two new, one resent
    # The refused addresses stay in the box, to be corrected.
    assert ">not-an-address\nowner@alpha.example</textarea>" in page


def test_an_empty_or_oversized_list_of_addresses_is_a_400_with_a_sentence(
    org_a: Organization, owner_a: User
):
    client = signed_in(org_a, owner_a)

    empty = client.post("/members/invite/", {"email": " , \n", "role": "member"})
    many = client.post(
        "/members/invite/",
        {"email": ",".join(f"p{n}@example.com" for n in range(51)), "role": "member"},
    )

    assert empty.status_code == 400
    assert b"Give at least one email address." in empty.content
    assert many.status_code == 400
    assert b"Invite at most 50 addresses at once (51 were given)." in many.content
    assert not Invitation.objects.exists()


def test_pending_invitation_is_resent_with_a_fresh_expiry_and_audited(
    org_a: Organization, owner_a: User, django_capture_on_commit_callbacks
):
    invitation = make_invitation(
        email="late@example.com", expires_at=timezone.now() + timedelta(hours=1)
    )
    client = signed_in(org_a, owner_a)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/members/invitations/{invitation.pk}/resend/")

    invitation.refresh_from_db()
    assert b"The invitation was sent again to late@example.com." in response.content
    assert invitation.expires_at > timezone.now() + timedelta(days=1)
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_INVITED)
    assert (event.actor, event.target_label, event.details["resent"]) == (
        owner_a,
        "late@example.com",
        "yes",
    )


def test_withdrawn_invitation_cannot_be_resent(org_a: Organization, owner_a: User):
    invitation = make_invitation(email="gone@example.com", revoked_at=timezone.now())
    client = signed_in(org_a, owner_a)

    response = client.post(f"/members/invitations/{invitation.pk}/resend/")

    assert b"The invitation for gone@example.com was withdrawn." in response.content
    assert not AuditEvent.objects.exists()


def test_role_of_a_pending_invitation_changes_and_the_invitee_joins_with_it(
    org_a: Organization, owner_a: User
):
    token = invite(owner_a)
    invitation = Invitation.objects.get()
    client = signed_in(org_a, owner_a)

    response = client.post(f"/members/invitations/{invitation.pk}/role/", {"role": "billing_admin"})
    accept(org_a, token)

    assert b"newcomer@example.com will join as billing admin." in response.content
    assert User.objects.get(email="newcomer@example.com").role == Role.BILLING_ADMIN
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ROLE_CHANGED)
    assert event.details == {"from": "member", "to": "billing_admin", "invitation": "yes"}


def test_admins_may_not_make_a_pending_invitation_an_owner(org_a: Organization):
    invitation = make_invitation(email="someone@example.com")
    client = signed_in(org_a, make_member(role=Role.ADMIN))

    response = client.post(f"/members/invitations/{invitation.pk}/role/", {"role": "owner"})
    unknown = client.post(f"/members/invitations/{invitation.pk}/role/", {"role": "emperor"})

    assert b"Only an owner can grant or take away the owner role." in response.content
    assert unknown.status_code == 400
    assert b"Choose one of the roles offered." in unknown.content
    invitation.refresh_from_db()
    assert invitation.role == Role.MEMBER


def test_members_page_offers_each_pending_invitations_link_and_explains_roles(
    org_a: Organization, owner_a: User
):
    invite(owner_a)
    client = signed_in(org_a, owner_a)

    page = client.get("/members/").content.decode()

    link = 'data-copy-link="http://alpha.localhost/invite/'
    copied = page.split(link)[1].split('"')[0]
    assert b"newcomer@example.com" in client_for(org_a).get(f"/invite/{copied}").content
    assert "What each role may do" in page
    assert 'href="/members/groups/"' in page


def test_other_organizations_invitations_cannot_be_resent_or_changed(
    org_a: Organization, org_b: Organization, owner_a: User
):
    with tenant_context(org_b):
        foreign = make_invitation(email="theirs@example.com")
    client = signed_in(org_a, owner_a)

    resend = client.post(f"/members/invitations/{foreign.pk}/resend/")
    role = client.post(f"/members/invitations/{foreign.pk}/role/", {"role": "admin"})

    assert (resend.status_code, role.status_code) == (404, 404)
    with tenant_context(org_b):
        foreign.refresh_from_db()
        assert foreign.role == Role.MEMBER
