"""Groups, one endpoint per action: create, add a member, remove a member, delete; a group's
grant reaches its members and leaves with them."""

from django.contrib.auth.models import Group

from accounts.models import Role, User
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Workspace, WorkspaceRole
from workspaces.services import grant_set


def test_a_group_grant_follows_the_groups_members(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    colleague = make_member(email="sam@example.com")
    owner = signed_in(org_a, owner_a)

    owner.post("/members/groups/new/", {"name": "Support"})
    support = Group.objects.get(name="Support")
    owner.post(f"/members/groups/{support.pk}/members/", {"email": "Sam@Example.com"})
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=support)
    assert signed_in(org_a, colleague).get(f"/w/{workspace.slug}/").status_code == 200

    owner.post(f"/members/groups/{support.pk}/members/{colleague.pk}/remove/")
    assert signed_in(org_a, colleague).get(f"/w/{workspace.slug}/").status_code == 404

    page = owner.post(f"/members/groups/{support.pk}/delete/", follow=True).content.decode()
    assert not Group.objects.filter(pk=support.pk).exists()
    assert "No groups yet." in page


def test_a_second_group_of_the_same_name_is_refused_with_a_reason(
    org_a: Organization, owner_a: User
):
    owner = signed_in(org_a, owner_a)
    owner.post("/members/groups/new/", {"name": "Sales"})

    page = owner.post("/members/groups/new/", {"name": "Sales"}, follow=True).content.decode()

    assert "A group called “Sales” exists already." in page
    assert Group.objects.filter(name="Sales").count() == 1


def test_members_get_404_for_every_group_action(org_a: Organization):
    group = Group.objects.create(name="Board")
    member = make_member(role=Role.MEMBER)
    client = signed_in(org_a, member)

    assert client.get("/members/groups/").status_code == 404
    assert client.post("/members/groups/new/", {"name": "Mine"}).status_code == 404
    assert (
        client.post(f"/members/groups/{group.pk}/members/", {"email": member.email}).status_code
        == 404
    )
    assert client.post(f"/members/groups/{group.pk}/delete/").status_code == 404
    assert list(Group.objects.values_list("name", flat=True)) == ["Board"]
    assert not group.user_set.exists()
