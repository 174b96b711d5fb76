"""The requests Microsoft Entra ID's provisioning service sends, in the order of its SCIM
validator's tests ("Develop and plan provisioning for a SCIM endpoint in Microsoft Entra
ID"): the bodies are Entra's documented examples."""

from django_tenants.utils import tenant_context

from accounts.models import User
from tests.members.scim.conftest import GROUP_SCHEMA, patch_op, payload

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_NAME = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
CREATE_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": USER_NAME,
    "active": True,
    "emails": [
        {"primary": True, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}
    ],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
}  # fmt: skip


def test_entra_user_sequence_creates_finds_updates_disables_and_deletes(scim, org_a):
    created = scim.send("POST", "Users", CREATE_USER)
    user = payload(created)
    assert created.status_code == 201
    assert user["userName"] == USER_NAME
    assert user["externalId"] == CREATE_USER["externalId"]
    assert user["active"] is True
    assert created["Location"].endswith(f"/scim/v2/Users/{user['id']}")

    assert payload(scim.send("GET", f"Users/{user['id']}"))["userName"] == USER_NAME
    by_user_name = payload(scim.send("GET", "Users", filter=f'userName eq "{USER_NAME}"'))
    assert [found["id"] for found in by_user_name["Resources"]] == [user["id"]]
    by_external = payload(
        scim.send("GET", "Users", filter=f'externalId eq "{CREATE_USER["externalId"]}"')
    )
    assert by_external["totalResults"] == 1
    missing = payload(scim.send("GET", "Users", filter='userName eq "nobody@testuser.com"'))
    assert missing["totalResults"] == 0
    assert missing["Resources"] == [] if "Resources" in missing else True

    multi = scim.send("PATCH", f"Users/{user['id']}", patch_op(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ))  # fmt: skip
    assert multi.status_code == 200
    assert payload(multi)["emails"][0]["value"] == "updatedemail@microsoft.com"
    assert payload(multi)["name"]["familyName"] == "updatedFamilyName"

    new_user_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    single = scim.send("PATCH", f"Users/{user['id']}", patch_op(
        {"op": "Replace", "path": "userName", "value": new_user_name}
    ))  # fmt: skip
    assert payload(single)["userName"] == new_user_name

    disabled = scim.send("PATCH", f"Users/{user['id']}", patch_op(
        {"op": "Replace", "path": "active", "value": False}
    ))  # fmt: skip
    assert payload(disabled)["active"] is False
    with tenant_context(org_a):
        member = User.objects.get(pk=user["id"])
        assert not member.is_active
        assert member.full_name == "givenName updatedFamilyName"

    assert scim.send("DELETE", f"Users/{user['id']}").status_code == 204
    gone = scim.send("GET", f"Users/{user['id']}")
    assert gone.status_code == 404
    assert payload(gone)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_entra_group_sequence_creates_renames_adds_and_removes_members(scim, org_a):
    first = payload(scim.send("POST", "Users", CREATE_USER))["id"]
    second = payload(scim.send("POST", "Users", {
        **CREATE_USER, "userName": "Test_User_2", "externalId": "e2",
        "emails": [{"primary": True, "type": "work", "value": "second@testuser.com"}],
    }))["id"]  # fmt: skip

    created = scim.send("POST", "Groups", {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
        "schemas": [GROUP_SCHEMA],
    })  # fmt: skip
    group = payload(created)
    assert created.status_code == 201
    assert group["displayName"] == "displayName"

    fetched = payload(scim.send("GET", f"Groups/{group['id']}", excludedAttributes="members"))
    assert fetched["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert "members" not in fetched
    found = payload(scim.send(
        "GET", "Groups", excludedAttributes="members", filter='displayName eq "displayName"'
    ))  # fmt: skip
    assert [each["id"] for each in found["Resources"]] == [group["id"]]

    renamed = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    scim.send("PATCH", f"Groups/{group['id']}", patch_op(
        {"op": "Replace", "path": "displayName", "value": renamed}
    ))  # fmt: skip
    scim.send("PATCH", f"Groups/{group['id']}", patch_op(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": first}, {"$ref": None, "value": second}]}
    ))  # fmt: skip
    with_both = payload(scim.send("GET", f"Groups/{group['id']}"))
    assert with_both["displayName"] == renamed
    assert sorted(member["value"] for member in with_both["members"]) == sorted([first, second])

    removed = scim.send("PATCH", f"Groups/{group['id']}", patch_op(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": first}]}
    ))  # fmt: skip
    assert [member["value"] for member in payload(removed)["members"]] == [second]
    with tenant_context(org_a):
        assert list(User.objects.get(pk=second).groups.values_list("name", flat=True)) == [renamed]
        assert not User.objects.get(pk=first).groups.exists()

    assert scim.send("DELETE", f"Groups/{group['id']}").status_code == 204
    assert scim.send("GET", f"Groups/{group['id']}").status_code == 404
