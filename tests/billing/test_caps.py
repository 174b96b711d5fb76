"""Caps: refused before the work, with a message that fits the person; a lowered cap keeps
what is there and refuses additions; questions counted atomically; owners warned by email."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role
from billing.caps import CapReached, cap_question_consume
from billing.models import BillingAccount, Plan, QuestionUsage
from billing.selectors import billing_account_get, period_current
from members.actions.signup import organization_signup
from members.models import Invitation
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.billing.conftest import plan_caps
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD, make_member
from tests.files import upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document, Workspace, WorkspaceGrant, WorkspaceRole
from workspaces.services import document_upload, workspace_create


def _pdfless(name: str, size: int = 20):
    return upload(name, (name * size).encode()[:size] or b"x", "text/plain")


def test_owner_uploading_past_the_document_cap_is_refused_with_an_upgrade_link(
    org_a, owner_a, workspace
):
    plan_caps("free", max_documents=1)
    client = signed_in(org_a, owner_a)

    client.post(f"/w/{workspace.slug}/upload/", {"files": [_pdfless("one.txt")]})
    page = client.post(f"/w/{workspace.slug}/upload/", {"files": [_pdfless("two.txt")]})

    body = page.content.decode()
    with tenant_context(org_a):
        assert list(Document.objects.values_list("original_name", flat=True)) == ["one.txt"]
    assert "limit of 1 documents" in body
    assert "Upgrade the plan" in body
    assert 'href="/billing/">Upgrade</a>' in body


def test_editor_uploading_past_the_document_cap_is_told_to_ask_their_admin(
    org_a, owner_a, workspace
):
    plan_caps("free", max_documents=0)
    editor = make_member(role=Role.MEMBER)
    WorkspaceGrant.objects.create(workspace=workspace, user=editor, role=WorkspaceRole.EDITOR)

    page = signed_in(org_a, editor).post(
        f"/w/{workspace.slug}/upload/", {"files": [_pdfless("a.txt")]}
    )

    body = page.content.decode()
    assert "Ask your admin to upgrade the plan." in body
    assert "/billing/" not in body
    with tenant_context(org_a):
        assert not Document.objects.exists()


def test_upload_that_would_pass_the_storage_cap_is_refused_before_it_is_stored(
    org_a, owner_a, workspace, settings
):
    plan_caps("free", max_storage_bytes=1000)
    client = signed_in(org_a, owner_a)

    page = client.post(f"/w/{workspace.slug}/upload/", {"files": [_pdfless("big.txt", 1500)]})

    assert "limit of 1000\xa0bytes of storage" in page.content.decode()
    with tenant_context(org_a):
        assert not Document.objects.exists()
    assert not (settings.MEDIA_ROOT / org_a.schema_name).exists()


def test_pasted_entry_past_the_document_cap_is_refused(org_a, owner_a, workspace):
    plan_caps("free", max_documents=0)

    page = signed_in(org_a, owner_a).post(
        f"/w/{workspace.slug}/entry/", {"title": "VPN", "text": "Reset it in the portal."}
    )

    assert 'data-meter="documents"' in page.content.decode()


def test_inviting_past_the_member_cap_is_refused_and_pending_invitations_hold_seats(org_a, owner_a):
    plan_caps("free", max_members=2)  # the owner, and one more
    client = signed_in(org_a, owner_a)

    client.post("/members/invite/", {"email": "first@example.com", "role": "member"})
    page = client.post("/members/invite/", {"email": "second@example.com", "role": "member"})

    assert "limit of 2 members" in page.content.decode()
    with tenant_context(org_a):
        assert list(Invitation.objects.values_list("email", flat=True)) == ["first@example.com"]


def test_creating_a_workspace_past_the_cap_is_refused(org_a, owner_a):
    plan_caps("free", max_workspaces=1)
    client = signed_in(org_a, owner_a)

    client.post("/workspaces/new/", {"name": "One", "language": "english"})
    page = client.post("/workspaces/new/", {"name": "Two", "language": "english"})

    assert page.status_code == 200
    assert "limit of 1 workspaces" in page.content.decode()
    with tenant_context(org_a):
        assert list(Workspace.objects.values_list("name", flat=True)) == ["One"]


def test_downgrade_below_current_usage_deletes_nothing_and_refuses_additions_until_under(
    org_a, owner_a
):
    for name in ("One", "Two", "Three"):
        workspace_create(actor=owner_a, name=name)
    BillingAccount.objects.update_or_create(
        organization=org_a, defaults={"plan": Plan.objects.get(slug="team")}
    )
    plan_caps("free", max_workspaces=2)

    # The subscription ends: back to Free, with three workspaces against a cap of two.
    BillingAccount.objects.filter(organization=org_a).update(plan=Plan.objects.get(slug="free"))
    with pytest.raises(CapReached) as refused:
        workspace_create(actor=owner_a, name="Four")
    assert Workspace.objects.count() == 3
    Workspace.objects.filter(name__in=["Two", "Three"]).delete()
    workspace_create(actor=owner_a, name="Four")

    assert refused.value.used == 3 and refused.value.limit == 2
    assert sorted(Workspace.objects.values_list("name", flat=True)) == ["Four", "One"]


def test_billing_page_meters_turn_amber_at_80_and_red_at_100_percent(org_a, owner_a):
    plan_caps("free", max_workspaces=5, max_members=1)
    for name in ("One", "Two", "Three", "Four"):
        workspace_create(actor=owner_a, name=name)

    page = signed_in(org_a, owner_a).get("/billing/").content.decode()

    assert 'data-meter="workspaces" data-level="warning"' in page
    assert 'data-meter="members" data-level="full"' in page
    assert 'data-meter="documents" data-level="ok"' in page
    assert "4 / 5" in page


def test_question_cap_refusal_tells_an_owner_to_upgrade_and_a_member_to_ask(org_a, owner_a):
    plan_caps("free", questions_per_period=1)
    member = make_member(role=Role.MEMBER)
    cap_question_consume(organization=org_a)

    with pytest.raises(CapReached) as refused:
        cap_question_consume(organization=org_a)

    assert refused.value.meter == "questions"
    assert refused.value.used == refused.value.limit == 1
    assert "Upgrade the plan" in refused.value.message_for(owner_a)
    assert refused.value.upgrade_url_for(owner_a) == "/billing/"
    assert "Ask your admin" in refused.value.message_for(member)
    assert refused.value.upgrade_url_for(member) is None


def test_owners_are_emailed_once_at_80_and_once_at_100_percent_of_the_questions(
    org_a, owner_a, django_capture_on_commit_callbacks
):
    plan_caps("free", questions_per_period=5)
    make_member(role=Role.MEMBER, email="member@alpha.example")

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            cap_question_consume(organization=org_a)
        with pytest.raises(CapReached):
            cap_question_consume(organization=org_a)

    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        "Alpha has used 80 % of its questions",
        "Alpha has used all 5 questions of this billing period",
    ]
    assert all(message.to == ["owner@alpha.example"] for message in mail.outbox)


def test_daily_questions_chart_shows_todays_questions(org_a, owner_a):
    for _ in range(3):
        cap_question_consume(organization=org_a)

    page = signed_in(org_a, owner_a).get("/billing/").content.decode()

    today = timezone.now()
    assert f'title="{today.day} {today:%b}: 3 questions"' in page
    assert 'data-meter="questions" data-level="ok"' in page


def test_twenty_concurrent_questions_with_one_left_let_exactly_one_through(
    django_db_setup, django_db_blocker
):
    with django_db_blocker.unblock():
        organization, _owner = organization_signup(
            name="Burst", slug="burst-test", owner_email="boss@burst.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        schema_public_activate()
        plan = Plan.objects.create(
            name="Tiny", slug="tiny-test", questions_per_period=5, max_documents=1,
            max_storage_bytes=1, max_members=1, max_workspaces=1, is_public=False,
        )  # fmt: skip
        account = BillingAccount.objects.get(organization=organization)
        account.plan = plan
        account.save()
        QuestionUsage.objects.create(
            organization=organization,
            period_start=period_current(account=account).start,
            questions=4,
            warned_80_at=timezone.now(),
        )
        start = threading.Barrier(20)
        outcomes: list[str] = []

        def ask() -> None:
            try:
                start.wait()
                cap_question_consume(organization=organization)
                outcomes.append("answered")
            except CapReached:
                outcomes.append("refused")
            finally:
                connection.close()  # each thread had its own connection

        try:
            threads = [threading.Thread(target=ask) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            used = QuestionUsage.objects.get(organization=organization).questions
            accounts = BillingAccount.objects.filter(organization=organization).count()
        finally:
            schema_public_activate()
            BillingAccount.objects.filter(organization=organization).delete()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)
            plan.delete()

    assert sorted(outcomes) == ["answered"] + ["refused"] * 19
    assert used == 5
    assert accounts == 1


def test_question_counter_starts_again_in_a_new_period(org_a):
    plan_caps("free", questions_per_period=1)
    account = billing_account_get(organization=org_a)
    cap_question_consume(organization=org_a)
    last_month = period_current(account=account).start - timedelta(days=1)
    QuestionUsage.objects.filter(organization=org_a).update(period_start=last_month.replace(day=1))

    cap_question_consume(organization=org_a)

    assert QuestionUsage.objects.filter(organization=org_a).count() == 2


def test_asking_past_the_question_cap_is_refused_on_the_ask_page_before_any_answer(
    org_a, owner_a, settings, tmp_path
):
    from assistant.models import Message

    settings.MEDIA_ROOT = tmp_path
    plan_caps("free", questions_per_period=1)
    member = make_member(role=Role.MEMBER)
    # Something to answer from: with no documents at all a question costs nothing.
    workspace = workspace_create(actor=owner_a, name="Policies", is_open=True)
    entry = document_upload(
        actor=owner_a,
        workspace=workspace,
        upload=ContentFile(b"Employees get 25 vacation days a year.", name="leave.md"),
        queue_ingestion=False,
    )
    documents_ingest(document_ids=[entry.pk])
    cap_question_consume(organization=org_a)

    owner_page = signed_in(org_a, owner_a).post(
        "/ask/", {"question": "How many vacation days?"}, HTTP_HX_REQUEST="true"
    )
    member_page = signed_in(org_a, member).post(
        "/ask/", {"question": "How many vacation days?"}, HTTP_HX_REQUEST="true"
    )

    assert owner_page["HX-Retarget"] == "#composer-error"
    assert "Upgrade" in owner_page.content.decode() and "/billing/" in owner_page.content.decode()
    assert "Ask your admin" in member_page.content.decode()
    assert "/billing/" not in member_page.content.decode()
    assert not Message.objects.exists()
