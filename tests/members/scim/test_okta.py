"""The requests Okta sends to a SCIM 2.0 application, in the order of its documented SCIM
test flow ("SCIM 2.0 protocol reference" and the SCIM test suite's requests). Okta's examples
use test.user@okta.local; .local is a special-use name that the address check refuses (a
test in test_protocol.py shows that refusal), so these use example.com."""

from django_tenants.utils import tenant_context

from accounts.models import User
from tests.members.scim.conftest import GROUP_SCHEMA, USER_SCHEMA, patch_op, payload

EMAIL = "test.user@example.com"
CREATE_USER = {
    "schemas": [USER_SCHEMA],
    "userName": EMAIL,
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": EMAIL, "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def test_okta_user_sequence_looks_up_creates_replaces_deactivates_and_reactivates(scim, org_a):
    lookup = scim.send("GET", "Users", filter=f'userName eq "{EMAIL}"', startIndex="1", count="100")
    assert payload(lookup)["totalResults"] == 0

    created = payload(scim.send("POST", "Users", CREATE_USER))
    assert created["name"] == {"formatted": "Test User", "givenName": "Test", "familyName": "User"}
    assert "password" not in created
    assert payload(scim.send("GET", f"Users/{created['id']}"))["userName"] == EMAIL
    found = payload(
        scim.send("GET", "Users", filter=f'userName eq "{EMAIL}"', startIndex="1", count="100")
    )
    assert [user["id"] for user in found["Resources"]] == [created["id"]]

    replaced = scim.send("PUT", f"Users/{created['id']}", {
        **CREATE_USER, "id": created["id"], "name": {"givenName": "Another", "familyName": "User"},
    })  # fmt: skip
    assert replaced.status_code == 200
    assert payload(replaced)["name"]["givenName"] == "Another"

    deactivated = scim.send("PATCH", f"Users/{created['id']}", patch_op(
        {"op": "replace", "value": {"active": False}}
    ))  # fmt: skip
    assert payload(deactivated)["active"] is False
    # Okta still finds the person it deactivated, as inactive.
    inactive = payload(scim.send("GET", "Users", filter=f'userName eq "{EMAIL}"'))
    assert [user["active"] for user in inactive["Resources"]] == [False]

    reactivated = scim.send("PATCH", f"Users/{created['id']}", patch_op(
        {"op": "replace", "value": {"active": True}}
    ))  # fmt: skip
    assert payload(reactivated)["active"] is True
    with tenant_context(org_a):
        member = User.objects.get(pk=created["id"])
        assert (member.is_active, member.full_name, member.has_usable_password()) == (
            True, "Another User", False,
        )  # fmt: skip


def test_okta_group_push_creates_renames_adds_and_removes_members(scim, org_a):
    person = payload(scim.send("POST", "Users", CREATE_USER))["id"]
    created = payload(scim.send("POST", "Groups", {
        "schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": [],
    }))  # fmt: skip
    group = created["id"]
    found = payload(scim.send(
        "GET", "Groups", filter='displayName eq "Test SCIMv2"', startIndex="1", count="100"
    ))  # fmt: skip
    assert [each["id"] for each in found["Resources"]] == [group]

    renamed = scim.send("PATCH", f"Groups/{group}", patch_op(
        {"op": "replace", "value": {"id": group, "displayName": "Test SCIMv2 renamed"}}
    ))  # fmt: skip
    assert payload(renamed)["displayName"] == "Test SCIMv2 renamed"
    added = scim.send("PATCH", f"Groups/{group}", patch_op(
        {"op": "add", "path": "members", "value": [{"value": person, "display": EMAIL}]}
    ))  # fmt: skip
    assert [member["value"] for member in payload(added)["members"]] == [person]
    removed = scim.send("PATCH", f"Groups/{group}", patch_op(
        {"op": "remove", "path": f'members[value eq "{person}"]'}
    ))  # fmt: skip
    assert payload(removed).get("members", []) == []

    replaced = scim.send("PUT", f"Groups/{group}", {
        "schemas": [GROUP_SCHEMA], "id": group, "displayName": "Test SCIMv2",
        "members": [{"value": person, "display": EMAIL}],
    })  # fmt: skip
    assert [member["value"] for member in payload(replaced)["members"]] == [person]
    with tenant_context(org_a):
        assert list(User.objects.get(pk=person).groups.values_list("name", flat=True)) == [
            "Test SCIMv2"
        ]
    assert scim.send("DELETE", f"Groups/{group}").status_code == 204
