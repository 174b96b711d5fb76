"""Property: for any member's grants, any choice of workspaces shared with Slack and any
source readers on the workspaces' documents, an answer in Slack cites only passages that
member may read in the browser: every source link opens for them, and comes from a workspace
both shared with the app and readable by them, and from a document whose readers let them
in."""

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
from workspaces.models import Document, WorkspaceGrant, WorkspaceRole
from workspaces.readers import UNRESTRICTED, DocumentReaders, document_readers_set
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
    # Each workspace's documents: no readers, the member among them, or only someone else
    # (as a source whose permissions are mirrored would leave them).
    readers=st.fixed_dictionaries(
        {name: st.sampled_from(["none", "member", "others"]) for name in ("handbook", "finance")}
    ),
)
def test_slack_answers_never_cite_what_the_member_cannot_read(
    slack_org: SlackOrg, installed: SlackLocal, grants: dict[str, bool], shared: set[str],
    question: str, readers: dict[str, str],
) -> None:  # fmt: skip
    try:
        _ask_and_check(slack_org, installed, grants, shared, question, readers)
    finally:
        # The organization's documents are committed and shared with the other Slack tests.
        with tenant_context(slack_org.organization):
            for document in Document.objects.filter(readers_restricted=True):
                document_readers_set(document=document, readers=UNRESTRICTED)
        schema_public_activate()


def _ask_and_check(
    slack_org: SlackOrg, installed: SlackLocal, grants: dict[str, bool], shared: set[str],
    question: str, readers: dict[str, str],
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
        withheld_from: set[int] = set()
        for name, who in readers.items():
            if who == "none":
                continue
            email = member.email if who == "member" else "someone@elsewhere.example"
            for document in Document.objects.filter(workspace=workspaces[name]):
                document_readers_set(
                    document=document,
                    readers=DocumentReaders(restricted=True, emails=frozenset({email})),
                )
            if who == "others":
                withheld_from.add(workspaces[name].pk)
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
            cited = Citation.objects.get(pk=citation_id)
            assert cited.workspace_id_at_answer in allowed - withheld_from
        schema_public_activate()


def _slack_user(slack: SlackLocal, email: str) -> Any:
    for user_id, known in slack.users.items():
        if known == email:
            return user_id
    return slack.user_add(email)
