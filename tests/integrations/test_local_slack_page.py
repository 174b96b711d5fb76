"""The local Slack-format server's page (`make dev`): a developer posts as a Slack user and
reads what the app answered, through the same signed deliveries the tests use."""

import urllib.parse
import urllib.request

from localdev.slack_server import SlackLocal
from tests.integrations.conftest import SlackOrg
from tests.integrations.test_asking import LEAVE, answered


def test_a_developer_asks_on_the_local_slack_page_and_reads_the_answer(
    slack_org: SlackOrg, installed: SlackLocal
):
    form = urllib.parse.urlencode(
        {"email": slack_org.reader.email, "where": "channel", "text": LEAVE}
    ).encode()

    sent = urllib.request.urlopen(f"{installed.url}/say", data=form)  # noqa: S310
    answer = answered(installed, "C0GENERAL1")
    page = urllib.request.urlopen(f"{installed.url}/").read().decode()  # noqa: S310

    assert sent.status == 200  # after the redirect to the page
    assert answer.thread_ts is not None
    assert "/ask/sources/" in page and "Helpful" in page
