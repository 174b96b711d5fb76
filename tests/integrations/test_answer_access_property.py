"""Property: for any member's grants and any choice of workspaces shared with Slack, an answer
in Slack cites only passages that member may read in the browser: every source link opens
for them, and comes from a workspace both shared with the app and readable by them."""

from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.models import Citation, Conversation
from integrations.models import SlackInstallation
from integrations.services import slack_workspaces_set
from localdev.slack_server import SlackLocal
from tenants.schemas import schema_public_activate
from tests.integrations.conftest import SlackOrg
from tests.integrations.test_asking import LINK, answered
from workspaces.access import workspace_ids_readable
from workspaces.models import WorkspaceGrant, WorkspaceRole
from workspaces.services import grant_remove, grant_set

QUESTIONS = [
    "How many days of annual leave do I get?",
    "What is the mileage rate for a private car?",
    "How do I report a breach of the code of conduct?",
    "What is the maximum load of the NR350?",
]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    grants=st.fixed_dictionaries({"handbook": st.booleans(), "finance": st.booleans()}),
    shared=st.sets(st.sampled_from(["handbook", "finance", "everyone"]), min_size=1),
    question=st.sampled_from(QUESTIONS),
)
def test_slack_answers_never_cite_what_the_member_cannot_read(
    slack_org: SlackOrg, installed: SlackLocal, grants: dict[str, bool], shared: set[str],
    question: str,
) -> None:  # fmt: skip
    member = slack_org.newcomer
    workspaces = {
        "handbook": slack_org.handbook, "finance": slack_org.finance,
        "everyone": slack_org.everyone,
    }  # fmt: skip
    with tenant_context(slack_org.organization):
        Conversation.objects.filter(user=member).delete()
        for name, granted in grants.items():
            grant = WorkspaceGrant.objects.filter(workspace=workspaces[name], user=member).first()
            if granted and grant is None:
                grant_set(actor=slack_org.admin, workspace=workspaces[name], grantee=member,
                          role=WorkspaceRole.VIEWER)  # fmt: skip
            if not granted and grant is not None:
                grant_remove(actor=slack_org.admin, grant=grant)
        slack_workspaces_set(
            actor=slack_org.admin, installation=SlackInstallation.objects.get(),
            workspace_ids=[workspaces[name].pk for name in shared],
        )  # fmt: skip
        readable = set(workspace_ids_readable(user=member))
        browser = Client(HTTP_HOST=slack_org.host)
        browser.force_login(member)
    schema_public_activate()
    slack_user = _slack_user(installed, member.email)
    channel = f"D0PROP{len(installed.posted):04d}"

    said = installed.say(
        team_id=installed.team_id, channel=channel, user=slack_user, text=question,
        channel_type="im",
    )  # fmt: skip

    if not readable & {workspaces[name].pk for name in shared}:
        notice = installed.wait_for(
            lambda: [e for e in installed.ephemeral if e["channel"] == channel]
        )
        assert "nothing I can search for you" in notice[0]["text"]
        return
    answer = answered(installed, channel, said.ts)
    shown = answer.blocks[0]["text"]["text"] + str(answer.blocks[1:])
    allowed = readable & {workspaces[name].pk for name in shared}
    for url, citation_id, _ in LINK.findall(shown):
        passage = browser.get(url.split("slackco.localhost", 1)[1])
        schema_public_activate()
        assert passage.status_code == 200, url
        with tenant_context(slack_org.organization):
            assert Citation.objects.get(pk=citation_id).workspace_id_at_answer in allowed
        schema_public_activate()


def _slack_user(slack: SlackLocal, email: str) -> Any:
    for user_id, known in slack.users.items():
        if known == email:
            return user_id
    return slack.user_add(email)
