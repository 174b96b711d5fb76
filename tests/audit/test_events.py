"""Each action that changes access, content or money writes its audit event, in the
transaction of the change: a refused action writes none, a rolled-back one leaves none."""

import pytest
from django.db import transaction

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from members.actions.groups import group_create, group_delete, group_member_add, group_member_remove
from members.actions.invitations import invitation_accept, invitation_revoke, invitation_token
from members.actions.membership import MembershipError, member_change_role, member_remove
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_invitation, make_member
from tests.files import upload
from workspaces.models import Workspace, WorkspaceRole
from workspaces.services import (
    WorkspaceError,
    document_delete,
    document_rename,
    document_replace,
    document_upload,
    documents_delete,
    grant_remove,
    grant_set,
    workspace_update,
)


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def test_inviting_through_the_page_records_who_invited_whom_from_which_address(
    org_a: Organization, owner_a: User
):
    client = signed_in(org_a, owner_a)

    client.post(
        "/members/invite/", {"email": "New@Example.com", "role": "admin"}, REMOTE_ADDR="203.0.113.7"
    )

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.actor_label) == (
        AuditAction.MEMBER_INVITED,
        owner_a,
        "owner@alpha.example",
    )
    assert (event.target_type, event.target_label) == ("invitation", "new@example.com")
    assert event.details == {"role": "admin"}
    assert event.ip_address == "203.0.113.7"


def test_joining_changing_a_role_and_removing_write_one_event_each(
    org_a: Organization, owner_a: User
):
    invitation = make_invitation(email="joiner@example.com", role=Role.MEMBER, invited_by=owner_a)

    joiner = invitation_accept(
        token=invitation_token(invitation=invitation), password="pw-12345678x"
    )
    member_change_role(actor=owner_a, member=joiner, role=Role.ADMIN)
    member_remove(actor=owner_a, member=joiner)

    events = list(AuditEvent.objects.order_by("pk"))
    assert [event.action for event in events] == [
        AuditAction.MEMBER_JOINED,
        AuditAction.MEMBER_ROLE_CHANGED,
        AuditAction.MEMBER_REMOVED,
    ]
    assert events[0].actor == joiner
    assert events[0].details == {"role": "member", "invited_by": "owner@alpha.example"}
    assert events[1].details == {"from": "member", "to": "admin"}
    assert events[2].details == {"role": "admin"}
    assert {event.target_label for event in events} == {"joiner@example.com"}


def test_withdrawing_an_invitation_is_recorded(org_a: Organization, owner_a: User):
    invitation = make_invitation(email="maybe@example.com")

    invitation_revoke(actor=owner_a, invitation=invitation)

    assert _actions() == [AuditAction.INVITATION_WITHDRAWN]


def test_refused_membership_actions_write_no_event(org_a: Organization, owner_a: User):
    member = make_member()
    with pytest.raises(MembershipError):
        member_change_role(actor=owner_a, member=owner_a, role=Role.MEMBER)  # the last owner
    with pytest.raises(MembershipError):
        member_remove(actor=member, member=owner_a)
    with pytest.raises(MembershipError):
        group_create(actor=member, name="Sneaky")

    assert _actions() == []


def test_group_changes_are_recorded(org_a: Organization, owner_a: User):
    colleague = make_member(email="colleague@example.com")

    group = group_create(actor=owner_a, name="Support")
    group_member_add(actor=owner_a, group=group, email="colleague@example.com")
    group_member_remove(actor=owner_a, group=group, member=colleague)
    group_delete(actor=owner_a, group=group)

    events = list(AuditEvent.objects.order_by("pk"))
    assert [event.action for event in events] == [
        AuditAction.GROUP_CREATED,
        AuditAction.GROUP_MEMBER_ADDED,
        AuditAction.GROUP_MEMBER_REMOVED,
        AuditAction.GROUP_DELETED,
    ]
    assert {event.target_label for event in events} == {"Support"}
    assert events[1].details == {"member": "colleague@example.com"}


def test_workspace_creation_settings_and_grants_are_recorded(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    colleague = make_member(email="reader@example.com")

    workspace_update(
        actor=owner_a, workspace=workspace, name="Handbook", description="Policies", is_open=True
    )
    grant = grant_set(
        actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=colleague
    )
    grant_remove(actor=owner_a, grant=grant)

    events = list(AuditEvent.objects.order_by("pk"))
    assert [event.action for event in events] == [
        AuditAction.WORKSPACE_CREATED,
        AuditAction.WORKSPACE_UPDATED,
        AuditAction.GRANT_SET,
        AuditAction.GRANT_REMOVED,
    ]
    assert events[1].details == {"open": {"from": False, "to": True}}
    assert events[2].details == {"grantee": "reader@example.com", "role": "viewer"}
    assert {event.target_label for event in events} == {"Handbook"}


def test_document_upload_replace_rename_download_and_delete_are_recorded(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    document = document_upload(
        actor=owner_a, workspace=workspace, upload=upload("leave.md", b"# Leave\n\n25 days.\n")
    )
    document_replace(
        actor=owner_a, document=document, upload=upload("leave.md", b"# Leave\n\n30 days.\n")
    )
    document_rename(actor=owner_a, document=document, title="Annual leave")
    response = signed_in(org_a, owner_a).get(
        f"/w/{workspace.slug}/documents/{document.pk}/download/"
    )
    assert response.status_code == 200
    document_id = document.pk
    document_delete(actor=owner_a, document=document)

    events = list(AuditEvent.objects.order_by("pk"))
    assert [event.action for event in events] == [
        AuditAction.WORKSPACE_CREATED,
        AuditAction.DOCUMENT_UPLOADED,
        AuditAction.DOCUMENT_REPLACED,
        AuditAction.DOCUMENT_RENAMED,
        AuditAction.DOCUMENT_DOWNLOADED,
        AuditAction.DOCUMENT_DELETED,
    ]
    assert {event.target_id for event in events[1:]} == {str(document_id)}
    assert events[1].details["file"] == "leave.md"
    assert events[2].details["version"] == 2
    assert events[3].details == {"from": "Leave", "to": "Annual leave"}
    assert events[5].target_label == "Annual leave"


def test_deleting_several_documents_records_each(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    first, second = (
        document_upload(actor=owner_a, workspace=workspace, upload=upload(f"{n}.txt", n.encode()))
        for n in ("one", "two")
    )

    documents_delete(actor=owner_a, workspace=workspace, document_ids=[first.pk, second.pk])

    deleted = AuditEvent.objects.filter(action=AuditAction.DOCUMENT_DELETED)
    assert sorted(deleted.values_list("target_label", flat=True)) == ["One", "Two"]


def test_refused_document_actions_write_no_event(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    reader = make_member()
    grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=reader)
    document_upload(actor=owner_a, workspace=workspace, upload=upload("a.txt", b"Same text."))
    before = AuditEvent.objects.count()

    with pytest.raises(WorkspaceError):  # the same content again
        document_upload(actor=owner_a, workspace=workspace, upload=upload("b.txt", b"Same text."))
    with pytest.raises(WorkspaceError):  # a viewer may not upload
        document_upload(actor=reader, workspace=workspace, upload=upload("c.txt", b"Other."))

    assert AuditEvent.objects.count() == before


def test_an_action_rolled_back_after_its_event_leaves_no_event(org_a: Organization, owner_a: User):
    with pytest.raises(RuntimeError), transaction.atomic():
        group_create(actor=owner_a, name="Short-lived")
        raise RuntimeError("the surrounding transaction fails after the change")

    assert _actions() == []


def test_an_event_cannot_be_written_outside_a_transaction(org_a: Organization, owner_a: User):
    # pytest's `db` wraps each test in a transaction, so leave it for a moment explicitly.
    connection = transaction.get_connection()
    atomic = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError):
            audit_record(actor=owner_a, action=AuditAction.GROUP_CREATED)
    finally:
        connection.in_atomic_block = atomic
