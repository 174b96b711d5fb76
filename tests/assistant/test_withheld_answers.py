"""An earlier answer that quoted a workspace its asker may no longer read keeps its question
but not its text: the conversation page, the finished stream and the API's conversation and
message payloads say why instead, and searching one's conversations does not find it."""

from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client

from accounts.models import User
from api.services import api_key_create
from assistant.answering import answer_finish, message_claim
from assistant.conversations import question_ask
from assistant.llm import Passage, Usage
from assistant.selectors import ANSWER_WITHHELD
from tenants.models import Organization
from tests.assistant.conftest import documents_ingested
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Workspace, WorkspaceGrant, WorkspaceRole
from workspaces.search.retrieval import chunks_retrieve
from workspaces.services import grant_remove, grant_set, workspace_create

BOARD = {"board.md": b"# Board\n\nThe Heron merger closes on 30 March at 41 euros a share.\n"}
HANDBOOK = {"leave.md": b"# Leave\n\nEmployees get 25 vacation days a year.\n"}
SECRET_WORDS = "41 euros a share"


def _answered(user: User, question: str, workspaces: list[Workspace], text: str) -> int:
    """A finished answer citing the first passage of each workspace, stored as the
    answering path stores one; returns its conversation's id."""
    conversation, _, reply = question_ask(user=user, text=question)
    passages = [
        Passage(number, chunks_retrieve(user=user, query=question, within=[w.pk], k=1)[0])
        for number, w in enumerate(workspaces, start=1)
    ]
    answer_finish(
        message_id=reply.pk, text=text, usage=Usage(model="extractive"), passages=passages,
        latency_ms=1, first_token_ms=1,
    )  # fmt: skip
    return conversation.pk


def _set_up(org: Organization, owner: User, asker: User) -> tuple[Workspace, Workspace]:
    handbook = workspace_create(actor=owner, name="Handbook", is_open=True)
    board = workspace_create(actor=owner, name="Board")
    grant_set(actor=owner, workspace=board, role=WorkspaceRole.VIEWER, grantee=asker)
    documents_ingested(owner, handbook, HANDBOOK)
    documents_ingested(owner, board, BOARD)
    return handbook, board


async def _gathered(response: Any) -> str:
    """A streamed response read to its end, as a browser would."""
    return b"".join([piece async for piece in response.streaming_content]).decode()


def test_the_conversation_page_hides_an_answer_that_quoted_a_workspace_no_longer_readable(
    org_a: Organization, owner_a: User
):
    member = make_member()
    handbook, board = _set_up(org_a, owner_a, member)
    withheld = _answered(
        member, "What price is the merger?", [board], f"The merger pays {SECRET_WORDS} [1]."
    )
    kept = _answered(member, "How many vacation days?", [handbook], "25 vacation days [1].")
    page = signed_in(org_a, member)
    assert SECRET_WORDS in page.get(f"/ask/c/{withheld}/").content.decode()

    grant_remove(actor=owner_a, grant=WorkspaceGrant.objects.get(workspace=board, user=member))

    html = page.get(f"/ask/c/{withheld}/").content.decode()
    assert SECRET_WORDS not in html
    assert ANSWER_WITHHELD in html
    assert "What price is the merger?" in html  # the question stays the asker's own
    assert "25 vacation days" in page.get(f"/ask/c/{kept}/").content.decode()
    searched = page.get("/ask/", {"q": "euros a share"}).content.decode()
    assert f"/ask/c/{withheld}/" not in searched
    reply = member.conversations.get(pk=withheld).messages.get(role="assistant")
    stream = async_to_sync(_gathered)(page.get(f"/ask/messages/{reply.pk}/stream/"))
    assert SECRET_WORDS not in stream and ANSWER_WITHHELD in stream
    # Nor does a follow-up hand it to the model as the conversation so far.
    _, _, follow_up = question_ask(user=member, text="And when?", conversation=reply.conversation)
    claim = message_claim(message_id=follow_up.pk)
    assert claim is not None
    assert [(turn.question, turn.answer) for turn in claim.history] == [
        ("What price is the merger?", "")
    ]


def test_the_api_hides_an_answer_that_quoted_a_workspace_no_longer_readable(
    org_a: Organization, owner_a: User
):
    handbook = workspace_create(actor=owner_a, name="Handbook", is_open=True)
    board = workspace_create(actor=owner_a, name="Board")
    documents_ingested(owner_a, handbook, HANDBOOK)
    documents_ingested(owner_a, board, BOARD)
    issued = api_key_create(
        actor=owner_a, name="Bot", scopes=["read", "ask"], workspace_ids=[handbook.pk, board.pk]
    )
    account = User.objects.get(pk=issued.key.service_account_id)
    conversation = _answered(
        account,
        "What price is the merger?",
        [handbook, board],
        f"Leave [1]. Pays {SECRET_WORDS} [2].",
    )
    api = Client(
        HTTP_HOST=f"{org_a.slug}.{settings.BASE_DOMAIN}",
        headers={"Authorization": f"Bearer {issued.secret}"},
    )

    grant_remove(actor=owner_a, grant=WorkspaceGrant.objects.get(workspace=board, user=account))

    detail: dict[str, Any] = api.get(f"/api/v1/conversations/{conversation}/").json()
    messages: list[dict[str, Any]] = api.get(
        f"/api/v1/conversations/{conversation}/messages/"
    ).json()
    for answer in (detail["messages"][1], messages[1]):
        assert answer["role"] == "assistant"
        assert answer["text"] == ""
        assert answer["withheld"] == ANSWER_WITHHELD
        assert [c["document_title"] for c in answer["citations"]] == ["Leave"]
    assert messages[0]["text"] == "What price is the merger?"
    assert messages[0]["withheld"] is None
