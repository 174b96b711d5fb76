"""Starting to ask: example questions from the organization's own documents, a new
organization with nothing uploaded yet, and which questions count against the plan."""

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import DailyQuestions
from billing.selectors import billing_account_get, period_current, questions_used
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.assistant.conftest import Handbook, ask
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD
from workspaces.models import Chunk
from workspaces.services import workspace_create


def _used(organization: Organization) -> tuple[int, int]:
    """Questions counted this period, and today (the billing page's chart)."""
    period = period_current(account=billing_account_get(organization=organization))
    today = DailyQuestions.objects.filter(organization=organization, day=timezone.now().date())
    return (
        questions_used(organization=organization, period=period),
        sum(today.values_list("questions", flat=True)),
    )


def _suggestions(page: str) -> list[str]:
    return [html.unescape(q) for q in re.findall(r'data-question="([^"]*)"', page)]


@pytest.fixture
def empty_organization(committed: None) -> Iterator[Any]:
    organization, owner = organization_signup(
        name="Brand New Ltd",
        slug="brandnew",
        owner_email="owner@brandnew.example",
        owner_password=OWNER_PASSWORD,
    )
    try:
        yield organization, owner
    finally:
        schema_public_activate()
        Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def test_ask_page_suggests_questions_from_the_organizations_own_documents(
    handbook: Handbook, committed: None
):
    client = signed_in(handbook.organization, handbook.owner)

    suggestions = _suggestions(client.get("/ask/").content.decode())

    assert len(suggestions) == 4
    with tenant_context(handbook.organization):
        headings = set(
            Chunk.objects.filter(workspace=handbook.workspace).values_list(
                "heading_path", flat=True
            )
        )
    for suggestion in suggestions:
        assert suggestion.endswith("?") and not suggestion[0].isdigit()
        # A question heading of the documents (an FAQ's), or what a section is about.
        assert any(
            h.endswith(suggestion) or suggestion[:-1].split(" say about ")[-1].lower() in h.lower()
            for h in headings
        ), suggestion
    # A conversation in progress is not interrupted with examples.
    answer, _ = ask(handbook.organization, handbook.owner, suggestions[0])
    assert answer.answered
    assert _suggestions(client.get(f"/ask/c/{answer.conversation_id}/").content.decode()) == []


def test_new_organization_is_told_to_upload_and_its_questions_cost_nothing(empty_organization):
    organization, owner = empty_organization
    client = signed_in(organization, owner)

    page = client.get("/ask/").content.decode()

    assert "There are no documents to answer from yet." in page
    assert 'href="/workspaces/new/"' in page
    assert _suggestions(page) == []
    answer, _ = ask(organization, owner, "How many vacation days do we get?")
    assert not answer.answered
    assert _used(organization) == (0, 0)
    with tenant_context(organization):
        workspace = workspace_create(actor=owner, name="Policies", is_open=True)
    assert f'href="/w/{workspace.slug}/"' in client.get("/ask/").content.decode()


def test_refusals_do_not_count_against_the_question_cap_but_answers_do(
    handbook: Handbook, committed: None
):
    before = _used(handbook.organization)

    refused, _ = ask(handbook.organization, handbook.owner, "Who painted the Mona Lisa?")
    after_refusal = _used(handbook.organization)
    answered, _ = ask(handbook.organization, handbook.owner, "How long is parental leave?")
    after_answer = _used(handbook.organization)

    assert not refused.answered and answered.answered
    assert after_refusal == before
    assert after_answer == (before[0] + 1, before[1] + 1)
