"""The spend page and the activity console: who may open them, and bad input."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import Role, User
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import signed_in
from tests.factories import make_member


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
