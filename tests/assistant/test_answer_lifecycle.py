"""An answer's life apart from the page that asked for it, over real HTTP against uvicorn:
leaving mid-answer does not end it, Stop does; editing the last question asks it again; the
original file of a PDF citation opens in the browser."""

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from django_tenants.utils import tenant_context

from assistant.conversations import feedback_set, question_ask
from assistant.models import Citation, Conversation, Feedback, Message, MessageStatus
from audit.models import AuditAction, AuditEvent
from tests.assistant.conftest import Handbook, ask
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import sample
from tests.live import free_port, uvicorn_running
from workspaces.services import document_upload, workspace_create


@pytest.fixture(scope="module")
def live(handbook: Handbook) -> Iterator[httpx.Client]:
    """A signed-in browser of the handbook's organization, against uvicorn; answers are
    written slowly enough (a pause between pieces) to be left and stopped midway."""
    port = free_port()
    cookies = signed_in(handbook.organization, handbook.owner).cookies
    with (
        uvicorn_running(port, ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS="300"),
        httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Host": f"{handbook.organization.slug}.localhost:{port}"},
            cookies={name: morsel.value for name, morsel in cookies.items()},
            timeout=90,
        ) as client,
    ):
        yield client


def _stored(handbook: Handbook, message_id: int) -> Message:
    with tenant_context(handbook.organization):
        return Message.objects.get(pk=message_id)


def _wait_finished(handbook: Handbook, message_id: int, seconds: float = 90) -> Message:
    deadline = time.monotonic() + seconds
    while (message := _stored(handbook, message_id)).status in ("pending", "streaming"):
        assert time.monotonic() < deadline, "the answer did not finish"
        time.sleep(0.2)
    return message


def _csrf_token(live: httpx.Client, conversation_id: int) -> str:
    page = live.get(f"/ask/c/{conversation_id}/").text
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token is not None
    return token.group(1)


def test_leaving_mid_answer_over_http_the_answer_is_finished_and_there_on_return(
    live: httpx.Client, handbook: Handbook, committed: None
):
    with tenant_context(handbook.organization):
        conversation, _, reply = question_ask(
            user=handbook.owner, text="How many days of bereavement leave are there?"
        )

    with live.stream("GET", f"/ask/messages/{reply.pk}/stream/") as stream:
        for line in stream.iter_lines():
            if line == "event: partial":
                break
    # The browser has gone: the connection is closed after the first partial event.

    stored = _wait_finished(handbook, reply.pk)
    assert stored.status == MessageStatus.DONE
    page = live.get(f"/ask/c/{conversation.pk}/").text
    assert f'id="message-{reply.pk}" class="message assistant status-done"' in page
    assert 'aria-label="Sources"' in page
    with tenant_context(handbook.organization):
        assert Citation.objects.filter(message_id=reply.pk).exists()
    assert stored.text.startswith("Bereavement leave:") and "Bereavement leave:" in page


def test_stop_keeps_what_was_written_marked_stopped_and_ends_the_generation(
    live: httpx.Client, handbook: Handbook, committed: None
):
    with tenant_context(handbook.organization):
        conversation, _, reply = question_ask(
            user=handbook.owner,
            # An answer of several pieces (the sabbatical's length and notice), time to stop it.
            text="How long is the paid sabbatical after 5 years of continuous service, and how "
            "far ahead must it be agreed?",
        )
    token = _csrf_token(live, conversation.pk)

    events: list[str] = []
    with live.stream("GET", f"/ask/messages/{reply.pk}/stream/") as stream:
        lines = stream.iter_lines()
        for line in lines:
            if line == "event: partial":
                break
        response = live.post(f"/ask/messages/{reply.pk}/stop/", headers={"X-CSRFToken": token})
        assert response.status_code == 204
        stopped_at = time.monotonic()
        for line in lines:
            events.append(line)
            if line == "" and "event: done" in events:
                break
        done_after = time.monotonic() - stopped_at
    body = "\n".join(events)

    # The last event is the stored answer, marked stopped, sent within a poll or two.
    assert done_after < 5
    assert "event: done" in body
    assert "You stopped this answer" in "".join(events[events.index("event: done") :])
    stored = _stored(handbook, reply.pk)
    assert stored.status == MessageStatus.STOPPED and stored.text
    time.sleep(2)
    assert _stored(handbook, reply.pk).text == stored.text  # nothing more was generated


def test_stop_without_csrf_token_is_refused(
    live: httpx.Client, handbook: Handbook, committed: None
):
    with tenant_context(handbook.organization):
        _, _, reply = question_ask(user=handbook.owner, text="Who approves travel?")

    response = live.post(f"/ask/messages/{reply.pk}/stop/")

    assert response.status_code == 403
    assert _stored(handbook, reply.pk).status == MessageStatus.PENDING


def test_another_persons_answer_cannot_be_stopped(handbook: Handbook, committed: None):
    with tenant_context(handbook.organization):
        _, _, reply = question_ask(user=handbook.owner, text="Who approves expenses?")
        colleague = make_member()

    response = signed_in(handbook.organization, colleague).post(f"/ask/messages/{reply.pk}/stop/")

    assert response.status_code == 404
    assert _stored(handbook, reply.pk).status == MessageStatus.PENDING


def test_editing_the_last_question_asks_it_again_below_and_keeps_the_original_turn(
    handbook: Handbook, committed: None
):
    answer, _ = ask(handbook.organization, handbook.owner, "How many vacation days are there?")
    with tenant_context(handbook.organization):
        question = answer.conversation.messages.get(role="user")
        feedback_set(user=handbook.owner, message=answer, rating=1)
        sources = Citation.objects.filter(message_id=answer.pk).count()
    client = signed_in(handbook.organization, handbook.owner)

    response = client.post(
        f"/ask/messages/{question.pk}/edit/",
        {"question": "How long is parental leave?"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    with tenant_context(handbook.organization):
        thread = list(answer.conversation.messages.order_by("created_at", "id"))
        assert [(m.role, m.text) for m in thread[:2]] == [
            ("user", "How many vacation days are there?"),
            ("assistant", answer.text),
        ]
        assert Citation.objects.filter(message_id=answer.pk).count() == sources > 0
        assert Feedback.objects.filter(message_id=answer.pk).exists()
        edited, reply = thread[2:]
        assert edited.text == "How long is parental leave?"
        assert reply.status == MessageStatus.PENDING
        title = Conversation.objects.get(pk=answer.conversation_id).title
    page = response.content.decode()
    assert "How long is parental leave?" in page
    assert f'sse-connect="/ask/messages/{reply.pk}/stream/"' in page
    assert title == "How long is parental leave?"
    assert "<h1>How long is parental leave?</h1>" in page  # the page's title, swapped too
    conversation = client.get(f"/ask/c/{answer.conversation_id}/").content.decode()
    assert "How many vacation days are there?" in conversation


def test_editing_keeps_a_title_one_chose(handbook: Handbook, committed: None):
    answer, _ = ask(handbook.organization, handbook.owner, "What is the gift limit?")
    client = signed_in(handbook.organization, handbook.owner)
    client.post(f"/ask/c/{answer.conversation_id}/rename/", {"title": "Gifts"})
    with tenant_context(handbook.organization):
        question = answer.conversation.messages.get(role="user")

    client.post(
        f"/ask/messages/{question.pk}/edit/",
        {"question": "What is the gift limit for customers?"},
        HTTP_HX_REQUEST="true",
    )

    with tenant_context(handbook.organization):
        assert Conversation.objects.get(pk=answer.conversation_id).title == "Gifts"


def test_only_the_last_question_can_be_edited_with_a_sentence_saying_so(
    handbook: Handbook, committed: None
):
    first, _ = ask(handbook.organization, handbook.owner, "What is the gift limit?")
    ask(handbook.organization, handbook.owner, "and for customers?", first.conversation)
    with tenant_context(handbook.organization):
        question = first.conversation.messages.filter(role="user").first()
    assert question is not None
    client = signed_in(handbook.organization, handbook.owner)

    earlier = client.post(
        f"/ask/messages/{question.pk}/edit/", {"question": "Gifts?"}, HTTP_HX_REQUEST="true"
    )
    empty = client.post(
        f"/ask/messages/{question.pk}/edit/", {"question": "  "}, HTTP_HX_REQUEST="true"
    )

    assert earlier.status_code == 400
    assert "Only your last question can be edited" in earlier.content.decode()
    assert empty.status_code == 400 and "Type a question first." in empty.content.decode()


def test_a_pdf_opens_inline_sandboxed_and_other_files_still_download(
    handbook: Handbook, committed: None
):
    with tenant_context(handbook.organization):
        workspace = workspace_create(actor=handbook.owner, name="Originals", is_open=True)
        pdf, markdown = (
            document_upload(
                actor=handbook.owner,
                workspace=workspace,
                upload=sample(name),
                queue_ingestion=False,
            )
            for name in ("benefits-guide-2026.pdf", "onboarding-guide.md")
        )
        downloads_before = AuditEvent.objects.filter(action=AuditAction.DOCUMENT_DOWNLOADED).count()
    client = signed_in(handbook.organization, handbook.owner)
    base = f"/w/{workspace.slug}/documents"
    try:
        opened = client.get(f"{base}/{pdf.pk}/download/")
        downloaded = client.get(f"{base}/{markdown.pk}/download/")

        assert opened["Content-Type"] == "application/pdf"
        assert opened["Content-Disposition"].startswith("inline")
        assert opened["Content-Security-Policy"] == "sandbox"
        assert opened["X-Content-Type-Options"] == "nosniff"
        assert b"".join(opened.streaming_content).startswith(b"%PDF")
        assert downloaded["Content-Disposition"].startswith("attachment")
        with tenant_context(handbook.organization):
            downloads = AuditEvent.objects.filter(action=AuditAction.DOCUMENT_DOWNLOADED).count()
        assert downloads == downloads_before + 2
    finally:
        with tenant_context(handbook.organization):
            workspace.delete()


def test_the_original_file_link_of_a_cited_pdf_page_opens_at_that_page(
    handbook: Handbook, committed: None
):
    answer, _ = ask(
        handbook.organization, handbook.owner, "How much is the gym stipend in the benefits guide?"
    )
    with tenant_context(handbook.organization):
        cited = Citation.objects.filter(message=answer, page__isnull=False).first()
    assert cited is not None
    client = signed_in(handbook.organization, handbook.owner)

    panel = client.get(f"/ask/sources/{cited.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert f'/download/#page={cited.page}" target="_blank"' in panel
