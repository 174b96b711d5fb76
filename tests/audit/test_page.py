"""The audit log page: owners and admins only (404 to anyone else), filters, CSV, pages,
and the retention cleanup."""

import csv
import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from members.actions.groups import group_create
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member


def _event_at(days_ago: int, **fields) -> AuditEvent:
    event = AuditEvent.objects.create(**fields)
    AuditEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return event


def test_only_owners_and_admins_see_the_audit_log(org_a: Organization, owner_a: User):
    admin = make_member(role=Role.ADMIN)
    for role in (Role.MEMBER, Role.BILLING_ADMIN):
        client = signed_in(org_a, make_member(role=role))
        assert client.get("/audit/").status_code == 404
        assert client.get("/audit/export.csv").status_code == 404

    assert signed_in(org_a, owner_a).get("/audit/").status_code == 200
    assert signed_in(org_a, admin).get("/audit/").status_code == 200
    assert b'href="/audit/"' in signed_in(org_a, admin).get("/members/").content


def test_the_log_filters_by_person_action_and_dates(org_a: Organization, owner_a: User):
    admin = make_member(role=Role.ADMIN, email="admin@alpha.example")
    group_create(actor=owner_a, name="Owners group")
    group_create(actor=admin, name="Admins group")
    _event_at(10, actor=admin, actor_label=admin.email, action=AuditAction.GRANT_SET,
              target_label="Old grant")  # fmt: skip
    client = signed_in(org_a, owner_a)
    today = timezone.localdate()

    by_admin = client.get("/audit/", {"person": admin.pk}).content.decode()
    groups_only = client.get("/audit/", {"action": "group.created"}).content.decode()
    recent = client.get("/audit/", {"since": str(today - timedelta(days=1))}).content.decode()
    earlier = client.get(
        "/audit/",
        {"since": str(today - timedelta(days=11)), "until": str(today - timedelta(days=9))},
    ).content.decode()

    assert "Admins group" in by_admin and "Old grant" in by_admin
    assert "Owners group" not in by_admin
    assert "Owners group" in groups_only and "Admins group" in groups_only
    assert "Old grant" not in groups_only
    assert "Owners group" in recent and "Old grant" not in recent
    assert "Old grant" in earlier and "Owners group" not in earlier


def test_bad_filters_are_refused_with_a_sentence(org_a: Organization, owner_a: User):
    client = signed_in(org_a, owner_a)

    bad_date = client.get("/audit/", {"since": "yesterday"})
    reversed_dates = client.get("/audit/", {"since": "2026-05-02", "until": "2026-05-01"})
    nobody = client.get("/audit/export.csv", {"person": "99999999"})
    no_such_action = client.get("/audit/", {"action": "member.poked"})

    assert bad_date.status_code == 400
    assert "Give the start date as YYYY-MM-DD." in bad_date.content.decode()
    assert reversed_dates.status_code == 400
    assert "The start date is after the end date." in reversed_dates.content.decode()
    assert nobody.status_code == 400
    assert "not in this organization" in nobody.content.decode()
    assert no_such_action.status_code == 400


def test_csv_export_holds_the_filtered_events(org_a: Organization, owner_a: User):
    group_create(actor=owner_a, name='Support, "EMEA"')
    _event_at(0, actor=None, action=AuditAction.PLAN_CHANGED, target_label="Team",
              details={"to_plan": "team"})  # fmt: skip

    response = signed_in(org_a, owner_a).get("/audit/export.csv", {"action": "group.created"})

    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "time",
        "person",
        "action",
        "target type",
        "target id",
        "target",
        "details",
        "ip",
    ]
    assert len(rows) == 2
    assert rows[1][1:3] == ["owner@alpha.example", "group.created"]
    assert rows[1][5] == 'Support, "EMEA"'


def test_csv_export_keeps_a_formula_in_a_name_as_text(org_a: Organization, owner_a: User):
    group_create(actor=owner_a, name='=HYPERLINK("http://evil.example","x")')

    response = signed_in(org_a, owner_a).get("/audit/export.csv")

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][5] == '\'=HYPERLINK("http://evil.example","x")'


def test_the_log_is_paginated_newest_first(org_a: Organization, owner_a: User):
    for n in range(55):
        _event_at(n, actor=owner_a, actor_label=owner_a.email, action=AuditAction.GROUP_CREATED,
                  target_label=f"Group {n:02d}")  # fmt: skip
    client = signed_in(org_a, owner_a)

    first = client.get("/audit/").content.decode()
    second = client.get("/audit/", {"page": 2}).content.decode()

    assert "Group 00" in first and "Group 49" in first and "Group 50" not in first
    assert "Group 50" in second and "Group 54" in second and "Group 00" not in second
    assert "Page 1 of 2" in first


def test_retention_deletes_events_older_than_the_setting(
    org_a: Organization, owner_a: User, settings
):
    settings.AUDIT_RETENTION_DAYS = 30
    old = _event_at(31, action=AuditAction.GROUP_CREATED, target_label="old")
    kept = _event_at(29, action=AuditAction.GROUP_CREATED, target_label="kept")
    out = io.StringIO()

    call_command("audit_prune", stdout=out)

    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=kept.pk).exists()
    assert "older than 30 days" in out.getvalue()


def test_the_product_offers_no_way_to_change_an_event(org_a: Organization, owner_a: User):
    event = _event_at(0, action=AuditAction.GROUP_CREATED, target_label="fixed")
    client = signed_in(org_a, owner_a)

    assert client.post("/audit/", {"id": event.pk}).status_code == 405
    assert client.post(f"/audit/{event.pk}/delete/").status_code == 404
    assert AuditEvent.objects.filter(pk=event.pk).exists()
