"""The spend page and the activity console: who may open them, and bad input."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import Role, User
from assistant.models import Conversation, Message, MessageRole, MessageStatus
from billing.money import dollars
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Workspace
from workspaces.services import workspace_create


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.OWNER, 200), (Role.BILLING_ADMIN, 200), (Role.ADMIN, 404), (Role.MEMBER, 404)],
)
def test_spend_page_is_for_owners_and_billing_admins_only(
    org_a: Organization, role: str, status: int
):
    person = make_member(email=f"{role}.person@alpha.example", role=role)

    page = signed_in(org_a, person).get("/ask/spend/")

    assert page.status_code == status
    if status == 200:
        assert "Nobody has asked a question in the last 30 days." in page.content.decode()


def test_billing_page_links_to_spend(org_a: Organization, owner_a: User):
    page = signed_in(org_a, owner_a).get("/billing/")

    assert 'href="/ask/spend/"' in page.content.decode()


def test_activity_console_refuses_an_unknown_window_with_a_sentence(db: None):
    schema_public_activate()
    staff = User.objects.create_superuser(email="ops@platform.example", password="ops-pass-42")
    operator = Client(HTTP_HOST=django_settings.BASE_DOMAIN)
    operator.force_login(staff)

    page = operator.get("/admin/billing/usageday/activity/?days=abc")

    assert page.status_code == 400
    assert "Choose 1, 7 or 30 days." in page.content.decode()


def test_activity_console_is_for_platform_staff_only(db: None):
    schema_public_activate()

    page = Client(HTTP_HOST=django_settings.BASE_DOMAIN).get("/admin/billing/usageday/activity/")

    assert page.status_code == 302
    assert "/admin/login/" in page["Location"]


def _answer(user: User, workspaces: list[Workspace], cost_micros: int) -> None:
    """An answer as the ledger records it: what it cost and which workspaces it searched."""
    conversation = Conversation.objects.create(user=user, title="Question")
    Message.objects.create(
        conversation=conversation, role=MessageRole.ASSISTANT, status=MessageStatus.DONE,
        text="An answer.", searched_workspace_ids=[w.pk for w in workspaces],
        input_tokens=100, output_tokens=20, cost_micros=cost_micros,
    )  # fmt: skip


def test_billing_admin_sees_the_workspaces_they_may_read_and_one_total_for_the_rest(
    org_a: Organization, owner_a: User
):
    handbook = workspace_create(actor=owner_a, name="Handbook", is_open=True)
    board = workspace_create(actor=owner_a, name="Board minutes")
    legal = workspace_create(actor=owner_a, name="Legal holds")
    _answer(owner_a, [handbook], 30_000)
    _answer(owner_a, [handbook, board], 40_000)
    _answer(owner_a, [board], 10_000)
    _answer(owner_a, [legal], 50_000)
    billing_admin = make_member(role=Role.BILLING_ADMIN)

    def by_workspace(person: User) -> str:
        page = signed_in(org_a, person).get("/ask/spend/").content.decode()
        return page.split('data-testid="spend-workspaces"')[1].split("</table>")[0]

    shown = by_workspace(billing_admin)
    everything = by_workspace(owner_a)

    assert "Handbook" in shown and dollars(50_000) in shown
    assert "Board minutes" not in shown and "Legal holds" not in shown
    assert "Other workspaces" in shown and dollars(80_000) in shown
    assert "Board minutes" in everything and "Legal holds" in everything
    assert "Other workspaces" not in everything
