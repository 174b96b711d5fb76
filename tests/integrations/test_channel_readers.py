"""An answer posted in a Slack channel is read by everyone in it, not only its asker: it is
answered only from documents without readers of their own. A direct message, which only
the asker reads, is answered from every document their readers let them read."""

import json

import pytest
from django_tenants.utils import tenant_context

from assistant.models import Conversation
from localdev.slack_server import SlackLocal
from tenants.schemas import schema_public_activate
from tests.integrations.conftest import SlackOrg
from tests.integrations.test_asking import LEAVE, answered, answers_of
from workspaces.models import Document
from workspaces.readers import UNRESTRICTED, DocumentReaders, document_readers_set


@pytest.fixture
def asker(slack_org: SlackOrg, installed: SlackLocal) -> str:
    """The reader's Slack user id; they start with no conversations."""
    with tenant_context(slack_org.organization):
        Conversation.objects.filter(user=slack_org.reader).delete()
    schema_public_activate()
    return installed.user_add(slack_org.reader.email)


def _cited_documents(slack_org: SlackOrg) -> set[int | None]:
    return {
        citation.document_id
        for answer in answers_of(slack_org, slack_org.reader.email)
        for citation in answer.citations.all()
    }


def test_a_channel_answer_cites_no_document_kept_to_readers_and_a_direct_message_does(
    slack_org: SlackOrg, installed: SlackLocal, asker: str
):
    with tenant_context(slack_org.organization):
        handbook = list(Document.objects.filter(workspace=slack_org.handbook))
        for document in handbook:
            document_readers_set(
                document=document,
                readers=DocumentReaders(
                    restricted=True, emails=frozenset([slack_org.reader.email])
                ),
            )
    schema_public_activate()
    restricted = {document.pk for document in handbook}
    try:
        said = installed.say(
            team_id=installed.team_id, channel="C0PERMFIX1", user=asker,
            text=f"<@{installed.bot_user_id}> {LEAVE}",
        )  # fmt: skip
        in_channel = answered(installed, "C0PERMFIX1", said.ts)
        assert "Time Off" not in json.dumps(in_channel.blocks)
        assert not _cited_documents(slack_org) & restricted

        said = installed.say(
            team_id=installed.team_id, channel="D0PERMFIX1", user=asker, text=LEAVE,
            channel_type="im",
        )  # fmt: skip
        direct = answered(installed, "D0PERMFIX1", said.ts)
        assert "Time Off" in direct.blocks[1]["elements"][0]["text"]
        assert _cited_documents(slack_org) & restricted
    finally:
        # The organization's documents are committed and shared with the other Slack tests.
        with tenant_context(slack_org.organization):
            for document in handbook:
                document_readers_set(document=document, readers=UNRESTRICTED)
        schema_public_activate()
