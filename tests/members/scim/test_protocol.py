"""SCIM's rules beyond the identity providers' happy paths: the token, refusals in SCIM's error
schema, filters and pages, the plan's seats, and a deactivation that takes effect on the very
next request of the person's browser and API keys."""

import time

from django_tenants.utils import tenant_context

from accounts.models import Role, User
from api.services import api_key_create
from audit.models import AuditAction, AuditEvent
from members.actions.provisioning import provisioning_token_create, provisioning_token_revoke
from members.scim.views import PAGE_SIZE_MAX
from tests.billing.conftest import plan_caps
from tests.conftest import client_for, signed_in
from tests.factories import make_member
from tests.members.scim.conftest import USER_SCHEMA, ScimClient, patch_op, payload
from workspaces.access import workspace_ids_readable
from workspaces.models import WorkspaceRole
from workspaces.services import grant_set

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(email: str, **extra: object) -> dict[str, object]:
    return {"schemas": [USER_SCHEMA], "userName": email, "emails": [{"value": email}], **extra}


def refusal(response, status: int, scim_type: str | None = None) -> str:
    body = payload(response)
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert len(body["detail"]) > 15
    return str(body["detail"])


def test_requests_without_a_valid_token_are_refused_with_a_scim_401(scim, org_a, owner_a):
    missing = ScimClient(client=scim.client, secret="")
    assert "Authorization: Bearer" in refusal(missing.send("GET", "Users"), 401)
    wrong = ScimClient(client=scim.client, secret=scim.secret[:-4] + "abcd")
    assert refusal(wrong.send("GET", "Users"), 401)
    # A signed-in owner's session is no SCIM credential.
    session = signed_in(org_a, owner_a).get("/scim/v2/Users")
    assert session.status_code == 401

    with tenant_context(org_a):
        token = provisioning_token_create(actor=owner_a)
        provisioning_token_revoke(actor=owner_a, token=token.token)
    revoked = ScimClient(client=scim.client, secret=token.secret)
    assert refusal(revoked.send("GET", "Users"), 401)


def test_a_token_works_only_on_its_own_organization(scim, org_b):
    elsewhere = ScimClient(client=client_for(org_b), secret=scim.secret)
    assert refusal(elsewhere.send("GET", "Users"), 401)


def test_bad_input_is_a_scim_error_with_a_sentence(scim, owner_a):
    not_json = scim.client.post(
        "/scim/v2/Users", "{nope", content_type="application/scim+json",
        headers={"Authorization": f"Bearer {scim.secret}"},
    )  # fmt: skip
    assert "not JSON" in refusal(not_json, 400, "invalidSyntax")
    assert "'userName' is required" in refusal(
        scim.send("POST", "Users", {"schemas": [USER_SCHEMA], "emails": [{"value": "a@example.com"}]}),
        400, "invalidValue",
    )  # fmt: skip
    assert "not an email address" in refusal(
        scim.send("POST", "Users", {"schemas": [USER_SCHEMA], "userName": "jdoe"}), 400, "invalidValue"
    )  # fmt: skip
    # Okta's own example address: .local is a special-use name no mail reaches.
    assert refusal(
        scim.send("POST", "Users", new_user("test.user@okta.local")), 400, "invalidValue"
    )
    assert refusal(scim.send("GET", "Users", filter="userName eq"), 400, "invalidFilter")
    assert "title" in refusal(
        scim.send("GET", "Users", filter='title eq "Boss"'), 400, "invalidFilter"
    )
    assert "whole number" in refusal(scim.send("GET", "Users", count="ten"), 400, "invalidValue")
    assert "list" in refusal(
        scim.send("PATCH", f"Users/{owner_a.pk}", {"Operations": "x"}), 400, "invalidValue"
    )
    assert refusal(scim.send("PATCH", "Users/424242", {"Operations": []}), 404)
    assert refusal(scim.send("GET", "Groups/424242"), 404)


def test_the_same_user_name_or_address_twice_is_a_uniqueness_conflict(scim, org_a, owner_a):
    scim.send("POST", "Users", new_user("dup@example.com"))
    assert "already has the userName" in refusal(
        scim.send("POST", "Users", new_user("dup@example.com")), 409, "uniqueness"
    )
    # The owner, invited by hand, is found by their address and is a conflict too.
    assert refusal(scim.send("POST", "Users", new_user(owner_a.email)), 409, "uniqueness")


def test_filters_and_pages_are_answered_from_the_database(scim):
    plan_caps("free", max_members=50)
    for number in range(5):
        scim.send(
            "POST", "Users", new_user(f"page{number}@example.com", externalId=f"ext-{number}")
        )

    page = payload(
        scim.send("GET", "Users", filter='userName sw "page"', startIndex="2", count="2")
    )
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [user["userName"] for user in page["Resources"]] == [
        "page1@example.com", "page2@example.com",
    ]  # fmt: skip
    either = payload(scim.send(
        "GET", "Users", filter='externalId eq "ext-0" or emails[value eq "page4@example.com"]'
    ))  # fmt: skip
    assert sorted(user["userName"] for user in either["Resources"]) == [
        "page0@example.com", "page4@example.com",
    ]  # fmt: skip
    case = payload(scim.send("GET", "Users", filter='userName eq "PAGE3@example.com"'))
    assert case["totalResults"] == 1
    huge = payload(scim.send("GET", "Users", count="100000"))
    assert huge["itemsPerPage"] <= PAGE_SIZE_MAX
    assert payload(scim.send("GET", "ServiceProviderConfig"))["patch"] == {"supported": True}
    types = payload(scim.send("GET", "ResourceTypes"))
    assert sorted(each["name"] for each in types["Resources"]) == ["Group", "User"]


def test_a_seat_past_the_plan_cap_is_a_scim_error_that_names_the_limit(scim, org_a):
    plan_caps("free", max_members=2)  # the owner, and one more
    assert scim.send("POST", "Users", new_user("fits@example.com")).status_code == 201

    detail = refusal(scim.send("POST", "Users", new_user("over@example.com")), 403)
    assert "limit of 2 members" in detail and "upgrade" in detail
    # Created inactive, nobody takes a seat; activating them is refused the same way.
    idle = payload(scim.send("POST", "Users", new_user("idle@example.com", active=False)))
    assert "limit of 2 members" in refusal(
        scim.send("PATCH", f"Users/{idle['id']}", patch_op({"op": "replace", "path": "active", "value": True})),
        403,
    )  # fmt: skip
    with tenant_context(org_a):
        assert not User.objects.filter(email="over@example.com").exists()


def test_deactivation_ends_sessions_and_api_keys_on_the_next_request(scim, org_a, workspace):
    with tenant_context(org_a):
        admin = make_member(role=Role.ADMIN, email="leaver@example.com")
        key = api_key_create(
            actor=admin, name="Leaver's bot", scopes=["read"], workspace_ids=[workspace.pk]
        )
    browser = signed_in(org_a, admin)
    api = client_for(org_a)
    bearer = {"Authorization": f"Bearer {key.secret}"}
    assert browser.get("/").status_code == 200
    assert api.get("/api/v1/workspaces/", headers=bearer).status_code == 200
    found = payload(scim.send("GET", "Users", filter='userName eq "leaver@example.com"'))
    member_id = found["Resources"][0]["id"]

    started = time.perf_counter()
    scim.send(
        "PATCH", f"Users/{member_id}", patch_op({"op": "replace", "value": {"active": False}})
    )
    patched = time.perf_counter()
    page = browser.get("/")
    refused_page = time.perf_counter()
    call = api.get("/api/v1/workspaces/", headers=bearer)

    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert call.status_code == 401
    # The figure docs/features.md quotes: the PATCH, then the next request already refused.
    print(f"deactivation PATCH {1000 * (patched - started):.0f} ms; next page request refused "
          f"{1000 * (refused_page - patched):.0f} ms after it")  # fmt: skip
    with tenant_context(org_a):
        assert not User.objects.get(pk=member_id).is_active
        removed = AuditEvent.objects.get(action=AuditAction.MEMBER_REMOVED, target_id=member_id)
        assert removed.actor is None and removed.actor_label.startswith("SCIM (token ")
        assert AuditEvent.objects.filter(action=AuditAction.API_KEY_REVOKED).count() == 1


def test_the_last_owner_cannot_be_deactivated_by_the_directory(scim, owner_a):
    detail = refusal(
        scim.send("PATCH", f"Users/{owner_a.pk}", patch_op({"op": "replace", "value": {"active": False}})),
        400, "mutability",
    )  # fmt: skip
    assert "at least one owner" in detail


def test_a_provisioned_group_carries_its_workspace_grant_to_its_members(
    scim, org_a, owner_a, workspace
):
    person = payload(scim.send("POST", "Users", new_user("reader@example.com")))["id"]
    group = payload(
        scim.send("POST", "Groups", {"displayName": "Support", "members": [{"value": person}]})
    )
    with tenant_context(org_a):
        from django.contrib.auth.models import Group

        grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER,
                  grantee=Group.objects.get(pk=group["id"]))  # fmt: skip
        reader = User.objects.get(pk=person)
        assert list(workspace_ids_readable(user=reader)) == [workspace.pk]

    scim.send(
        "PATCH",
        f"Groups/{group['id']}",
        patch_op({"op": "remove", "path": f'members[value eq "{person}"]'}),
    )
    with tenant_context(org_a):
        assert list(workspace_ids_readable(user=User.objects.get(pk=person))) == []
        events = AuditEvent.objects.filter(target_type="group").values_list("action", flat=True)
        assert sorted(events) == sorted([
            AuditAction.GROUP_CREATED, AuditAction.GROUP_MEMBER_ADDED, AuditAction.GROUP_MEMBER_REMOVED,
        ])  # fmt: skip
