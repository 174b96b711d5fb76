"""The API's updated-after filter at the end of the calendar (9999-12-31, where adding a day
overflows): a 400 problem with a sentence, before a question is stored or counted."""

from django_tenants.utils import tenant_context

from assistant.models import Message
from billing.selectors import billing_account_get, period_current, questions_used
from tenants.models import Organization
from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue

LAST_DAY = "9999-12-31"
REFUSAL = "Give a date before 9999-12-31."


def _questions_counted(organization: Organization) -> int:
    period = period_current(account=billing_account_get(organization=organization))
    return questions_used(organization=organization, period=period)


def test_api_search_refuses_the_last_day_with_a_problem(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, scopes=["read"], workspaces=[api_org.open]))

    problem = assert_problem(api.get("search/", {"q": "conduct", "updated_after": LAST_DAY}), 400)

    assert REFUSAL in str(problem)


def test_api_ask_refuses_the_last_day_before_storing_or_counting_the_question(
    db: None, api_org: ApiOrg
):
    api = api_client(api_org, key_issue(api_org, scopes=["ask"], workspaces=[api_org.open]))
    with tenant_context(api_org.organization):
        messages_before = Message.objects.count()
    counted_before = _questions_counted(api_org.organization)

    problem = assert_problem(
        api.post("ask/", {"question": "What is the code?", "updated_after": LAST_DAY}), 400
    )

    assert REFUSAL in str(problem)
    with tenant_context(api_org.organization):
        assert Message.objects.count() == messages_before
    assert _questions_counted(api_org.organization) == counted_before
