"""A date at the end of the calendar (9999-12-31), where adding a day overflows: the
updated-after filter refuses it with a sentence everywhere it is taken, before a question is
stored or counted; the audit log's inclusive end date takes it as "no end"."""

import csv
import io

import pytest

from accounts.models import User
from assistant.models import Message
from audit.models import AuditAction
from audit.services import audit_record
from billing.selectors import billing_account_get, period_current, questions_used
from tenants.models import Organization
from tests.conftest import signed_in
from workspaces.models import Workspace

LAST_DAY = "9999-12-31"
REFUSAL = "Give a date before 9999-12-31."


def _questions_counted(organization: Organization) -> int:
    period = period_current(account=billing_account_get(organization=organization))
    return questions_used(organization=organization, period=period)


def test_workspace_search_page_refuses_the_last_day_with_a_sentence(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    response = signed_in(org_a, owner_a).get(
        f"/w/{workspace.slug}/search/", {"q": "vacation", "updated_after": LAST_DAY}
    )

    assert response.status_code == 400
    assert REFUSAL in response.content.decode()


def test_ask_page_refuses_the_last_day_before_storing_or_counting_the_question(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    response = signed_in(org_a, owner_a).post(
        "/ask/", {"question": "Vacation?", "updated_after": LAST_DAY}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200  # the composer's error, swapped in by HTMX
    assert REFUSAL in response.content.decode()
    assert Message.objects.count() == 0
    assert _questions_counted(org_a) == 0


def test_audit_log_ending_on_the_last_day_lists_everything_up_to_now(
    org_a: Organization, owner_a: User
):
    audit_record(actor=owner_a, action=AuditAction.GROUP_CREATED, target_label="Night shift")
    client = signed_in(org_a, owner_a)

    page = client.get("/audit/", {"since": "2000-01-01", "until": LAST_DAY})
    export = client.get("/audit/export.csv", {"until": LAST_DAY})

    assert page.status_code == 200
    assert "Night shift" in page.content.decode()
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [row["target"] for row in rows] == ["Night shift"]


@pytest.mark.parametrize("day", ["0000-00-00", "10000-01-01"])
def test_audit_log_refuses_a_date_that_is_not_one_with_a_sentence(
    org_a: Organization, owner_a: User, day: str
):
    client = signed_in(org_a, owner_a)

    page = client.get("/audit/", {"until": day})
    export = client.get("/audit/export.csv", {"since": day})

    assert page.status_code == 400
    assert "Give the end date as YYYY-MM-DD." in page.content.decode()
    assert export.status_code == 400
    assert "Give the start date as YYYY-MM-DD." in export.content.decode()
