"""The spend page's figures (model spend by person, workspace and day), the plan's monthly
cap on model cost, and the platform operator's activity console, from answers asked through
the real path on the sample handbook (the Vertex provider against the local server)."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from assistant.models import Message
from billing.models import Plan, QuestionUsage, UsageDay
from billing.money import dollars
from localdev.vertex_server import VertexLocalServer
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import Handbook, ask
from tests.conftest import signed_in
from tests.factories import plan_switched
from tests.files import upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.services import document_delete, document_upload


def test_spend_page_shows_spend_by_person_workspace_and_day(
    handbook: Handbook, committed: None, vertex: VertexLocalServer
):
    organization, owner = handbook.organization, handbook.owner
    answer, _ = ask(organization, owner, "How much can be spent on a hotel night in London?")
    ask(organization, owner, "Which expenses need a receipt?")  # over a thousand tokens now
    with tenant_context(organization):
        mine = Message.objects.filter(conversation__user=owner, role="assistant").aggregate(
            cost=Sum("cost_micros"), tokens=Sum("input_tokens")
        )

    page = signed_in(organization, owner).get("/ask/spend/")

    html = page.content.decode()
    assert page.status_code == 200
    people = html.split('data-testid="spend-people"')[1].split("</table>")[0]
    assert owner.email in people
    assert dollars(mine["cost"]) in people
    assert f"{mine['tokens']:,}" in people
    assert mine["tokens"] >= 1000  # so the separator is there to see
    workspaces = html.split('data-testid="spend-workspaces"')[1].split("</table>")[0]
    assert "Handbook" in workspaces
    days = html.split('data-testid="spend-days"')[1].split("</table>")[0]
    today = timezone.localdate()
    assert f'data-day="{today:%Y-%m-%d}"' in days
    assert days.count("<tr data-day=") == 30
    assert answer.cost_micros > 0


@pytest.fixture
def capped_plan(handbook: Handbook, committed: None) -> Iterator[Plan]:
    """The handbook's organization on a plan capping model spend just above what it has
    spent this period; put back on its own plan afterwards."""
    spent = sum(
        QuestionUsage.objects.filter(organization=handbook.organization).values_list(
            "model_cost_micros", flat=True
        )
    )
    with plan_switched(
        handbook.organization, name="Capped", max_model_cost_cents=spent // 10_000 + 1
    ) as plan:
        yield plan


def test_monthly_model_cost_cap_refuses_the_next_question_with_a_reason(
    handbook: Handbook,
    committed: None,
    vertex: VertexLocalServer,
    capped_plan: Plan,
    settings: Any,
):
    # A dear model: one answer costs more than the cent left under the cap.
    settings.MODEL_PRICES_PER_MILLION_TOKENS = {"gemini-2.5-flash": [100.0, 100.0]}
    organization, owner = handbook.organization, handbook.owner
    answer, _ = ask(organization, owner, "What is the mileage rate for a private car?")
    assert answer.cost_micros > 10_000
    calls = len(vertex.requests)

    refused = signed_in(organization, owner).post(
        "/ask/", {"question": "Who signs off on expenses?"}, HTTP_HX_REQUEST="true"
    )

    text = refused.content.decode()
    assert refused.status_code == 200
    assert 'data-meter="model_cost"' in text
    assert "limit of $" in text and "model spend this billing period" in text
    assert "Upgrade the plan" in text
    assert len(vertex.requests) == calls
    billing = signed_in(organization, owner).get("/billing/").content.decode()
    assert 'data-meter="model_cost" data-level="full"' in billing


@pytest.fixture
def operator(committed: None) -> Iterator[Client]:
    """Platform staff signed in to the public site's admin. Kept for the session: deleting a
    user from the public schema looks for the organizations' own tables (allauth's)."""
    schema_public_activate()
    staff = User.objects.filter(email="ops@platform.example").first()
    if staff is None:
        staff = User.objects.create_superuser(email="ops@platform.example", password="ops-42")
    client = Client(HTTP_HOST=django_settings.BASE_DOMAIN)
    client.force_login(staff)
    yield client
    schema_public_activate()


def test_public_admin_lists_each_organizations_activity_from_the_ledger(
    handbook: Handbook, committed: None, vertex: VertexLocalServer, operator: Client
):
    organization, owner, workspace = handbook.organization, handbook.owner, handbook.workspace
    ask(organization, owner, "Is there a dress code?")
    vertex.fail_status = 500
    failed, _ = ask(organization, owner, "Can I work from abroad?")
    vertex.fail_status = 0
    with tenant_context(organization):
        empty = document_upload(
            actor=owner, workspace=workspace, upload=upload("nothing.txt", b""),
            queue_ingestion=False,
        )  # fmt: skip
        documents_ingest(document_ids=[empty.pk])
        document_delete(actor=owner, document=empty)
    schema_public_activate()
    week = UsageDay.objects.filter(organization=organization).aggregate(
        answers=Sum("answers"), failed=Sum("answers_failed"), cost=Sum("model_cost_micros"),
        documents=Sum("documents_ingested"), ingestions_failed=Sum("ingestions_failed"),
    )  # fmt: skip

    page = operator.get("/admin/billing/usageday/activity/?days=7")

    html = page.content.decode()
    assert page.status_code == 200
    row = html.split(f'data-organization="{organization.slug}"')[1].split("</tr>")[0]
    assert "Northwind Robotics" in row
    assert f'class="answers">{week["answers"]:,}<' in row
    assert f'class="answers-failed">{week["failed"]:,}<' in row
    assert f'class="cost">{dollars(week["cost"])}<' in row
    assert f'class="documents">{week["documents"]:,}<' in row
    assert f'class="ingestions-failed">{week["ingestions_failed"]:,}<' in row
    assert week["failed"] >= 1 and week["ingestions_failed"] >= 1 and week["documents"] >= 12
    assert failed.status == "failed"
    daily = operator.get("/admin/billing/usageday/")
    assert daily.status_code == 200
    assert "Northwind Robotics" in daily.content.decode()
