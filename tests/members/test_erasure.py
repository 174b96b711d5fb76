"""Erasure: an owner erases a former member's personal data on Members -> Data. Their
conversations go; the audit log keeps the events with an opaque id in place of the person
(labels, details, client address); a current member cannot be erased; only owners may."""

import json

from django.urls import reverse

from accounts.models import User
from assistant.models import Conversation, Feedback
from audit.models import AuditAction, AuditEvent
from lifecycle.erasure import member_opaque_id
from members.actions.membership import member_remove
from tests.conftest import signed_in
from tests.factories import make_member
from tests.members.lifecycle_content import content_make


def test_a_former_members_conversations_go_and_the_audit_log_names_an_opaque_id(org_a, owner_a):
    content = content_make(owner_a, member_email="leaver@example.com")
    member = content.member
    member_remove(actor=owner_a, member=member)
    opaque = member_opaque_id(member=member)
    client = signed_in(org_a, owner_a)

    page = client.get(reverse("lifecycle:data"))
    response = client.post(reverse("lifecycle:member_erase", args=[member.pk]))

    member.refresh_from_db()
    texts = [
        json.dumps([e.actor_label, e.target_label, e.details, e.ip_address])
        for e in AuditEvent.objects.exclude(action=AuditAction.MEMBER_ERASED)
    ]
    assert "leaver@example.com" in page.content.decode()
    assert response.status_code == 302
    assert not Conversation.objects.filter(user=member).exists()
    assert not Feedback.objects.filter(user=member).exists()
    assert Conversation.objects.count() == 0
    assert [text for text in texts if "leaver@example.com" in text] == []
    assert AuditEvent.objects.filter(
        action=AuditAction.MEMBER_REMOVED, target_label=opaque
    ).exists()
    assert member.email == f"{opaque}@erased.invalid"
    assert member.full_name == ""
    assert not member.has_usable_password()
    erased = AuditEvent.objects.get(action=AuditAction.MEMBER_ERASED)
    assert erased.actor == owner_a
    assert erased.details["conversations_deleted"] >= 1
    assert "leaver@example.com" not in client.get(reverse("lifecycle:data")).content.decode()


def test_a_current_member_is_refused_with_a_sentence(org_a, owner_a):
    member = make_member(email="stays@example.com")
    client = signed_in(org_a, owner_a)

    response = client.post(reverse("lifecycle:member_erase", args=[member.pk]))

    assert response.status_code == 400
    assert "Remove stays@example.com from the organization first" in response.content.decode()
    assert User.objects.get(pk=member.pk).email == "stays@example.com"


def test_erasing_twice_or_an_unknown_id_is_a_4xx(org_a, owner_a):
    member = make_member(email="twice@example.com")
    member_remove(actor=owner_a, member=member)
    client = signed_in(org_a, owner_a)

    first = client.post(reverse("lifecycle:member_erase", args=[member.pk]))
    second = client.post(reverse("lifecycle:member_erase", args=[member.pk]))
    unknown = client.post(reverse("lifecycle:member_erase", args=[999999]))

    assert first.status_code == 302
    assert second.status_code == 404  # no longer a former member with data, nor a member
    assert unknown.status_code == 404


def test_only_owners_erase_and_csrf_is_checked(org_a, owner_a):
    member = make_member(email="gone@example.com")
    member_remove(actor=owner_a, member=member)
    admin = signed_in(org_a, make_member(role="admin"))
    guarded = signed_in(org_a, owner_a)
    guarded.handler.enforce_csrf_checks = True

    assert admin.post(reverse("lifecycle:member_erase", args=[member.pk])).status_code == 404
    assert guarded.post(reverse("lifecycle:member_erase", args=[member.pk])).status_code == 403
    assert User.objects.get(pk=member.pk).email == "gone@example.com"
