"""The Ask pages and the answer stream, through Django's handlers (the stream through the
async handler, with the tenant middleware), on the committed sample handbook."""

import asyncio
import re

from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import Role
from assistant.conversations import question_ask
from assistant.models import (
    Citation,
    Conversation,
    GapStatus,
    Message,
    MessageStatus,
    RefusalReason,
)
from billing.selectors import billing_account_get, period_current, questions_used
from tests.assistant.conftest import Handbook, _drain, ask
from tests.conftest import client_for, signed_in
from tests.factories import make_member
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.search.retrieval import RetrievalFilters
from workspaces.services import document_delete, document_upload, workspace_create


class AsgiClient:
    """GET through the project's real ASGI application (the handler uvicorn runs), with
    the organization's host and a signed-in session."""

    def __init__(self, organization, user) -> None:
        self.host = f"{organization.slug}.localhost"
        self.cookie = "; ".join(
            f"{name}={morsel.value}"
            for name, morsel in signed_in(organization, user).cookies.items()
        )

    async def get(self, path: str, leave_after: int = 0) -> tuple[int, dict[str, str], str]:
        """`leave_after`: the browser disconnects once that many body parts have arrived."""
        from saas.asgi import application

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", self.host.encode()), (b"cookie", self.cookie.encode())],
            "client": ("127.0.0.1", 1234),
            "server": (self.host, 80),
        }
        sent: list[dict] = []
        finished = asyncio.Event()
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()
            if leave_after and len(sent) > leave_after:
                finished.set()

        await application(scope, receive, send)  # type: ignore[arg-type]
        start = sent[0]
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
        return start["status"], headers, body


def async_client_for(handbook: Handbook, user) -> AsgiClient:
    return AsgiClient(handbook.organization, user)


async def read_stream(client: AsgiClient, message_id: int) -> list[tuple[str, str]]:
    status, headers, body = await client.get(f"/ask/messages/{message_id}/stream/")
    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    events = []
    for block in body.strip().split("\n\n"):
        name = re.search(r"^event: (\w+)", block, re.M)
        data = "\n".join(line[6:] for line in block.splitlines() if line.startswith("data: "))
        events.append((name.group(1) if name else "", data))
    return events


def test_asking_opens_a_conversation_whose_page_streams_the_answer(
    handbook: Handbook, committed: None
):
    client = signed_in(handbook.organization, handbook.owner)

    response = client.post("/ask/", {"question": "How many vacation days do employees get?"})

    location = response["HX-Redirect"]
    page = client.get(location)
    assert "How many vacation days do employees get?" in page.content.decode()
    assert 'sse-connect="/ask/messages/' in page.content.decode()
    [message_id] = re.findall(r"/ask/messages/(\d+)/stream/", page.content.decode())

    events = asyncio.run(read_stream(async_client_for(handbook, handbook.owner), int(message_id)))

    kinds = [kind for kind, _ in events]
    assert kinds.count("partial") > 2 and kinds[-1] == "done"
    final = events[-1][1]
    assert "25 working days" in final
    assert 'class="cite"' in final and "/ask/sources/" in final
    assert "Northwind Robotics Employee Handbook: Time Off" in final
    assert "sse-connect" not in final  # the finished message does not stream again


def test_reconnecting_to_a_finished_answer_sends_it_without_answering_again(
    handbook: Handbook, committed: None
):
    answer, _ = ask(handbook.organization, handbook.owner, "What is the gift limit?")

    events = asyncio.run(read_stream(async_client_for(handbook, handbook.owner), answer.pk))

    assert [kind for kind, _ in events] == ["done"]
    assert "EUR 75" in events[0][1]


def test_streams_of_two_organizations_at_once_each_use_their_own_schema(
    handbook: Handbook, committed: None, django_db_blocker
):
    """Interleaved on one event loop, every database call after an await must still run in
    its own organization's schema: each answer is stored in, and cites, its own."""
    from members.actions.signup import organization_signup
    from tenants.models import Organization
    from tests.factories import OWNER_PASSWORD
    from tests.files import upload
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.services import document_upload

    other, other_owner = organization_signup(
        name="Other",
        slug="other-stream",
        owner_email="o@other.example",
        owner_password=OWNER_PASSWORD,
    )
    try:
        with tenant_context(other):
            workspace = workspace_create(actor=other_owner, name="Leave", is_open=True)
            document = document_upload(
                queue_ingestion=False,
                actor=other_owner,
                workspace=workspace,
                upload=upload(
                    "leave.md",
                    b"# Leave\n\nEvery employee of Other gets 31 vacation days per year, "
                    b"and may carry over 9 of them into the next year.\n",
                ),
            )
            documents_ingest(document_ids=[document.pk])
            _, _, other_reply = question_ask(
                user=other_owner, text="How many vacation days do employees get?"
            )
        with tenant_context(handbook.organization):
            _, _, reply = question_ask(
                user=handbook.owner, text="How many vacation days do employees get?"
            )

        ours_client, theirs_client = (
            AsgiClient(handbook.organization, handbook.owner),
            AsgiClient(other, other_owner),
        )

        async def both():
            return await asyncio.gather(
                read_stream(ours_client, reply.pk), read_stream(theirs_client, other_reply.pk)
            )

        ours, theirs = asyncio.run(both())

        assert "25 working days" in ours[-1][1] and "31" not in ours[-1][1]
        assert "31 vacation days" in theirs[-1][1] and "25 working days" not in theirs[-1][1]
        with tenant_context(other):
            assert Message.objects.get(pk=other_reply.pk).status == MessageStatus.DONE
            assert {c.document_title for c in Citation.objects.all()} == {"Leave"}
        with tenant_context(handbook.organization):
            stored = Message.objects.get(pk=reply.pk)
            assert stored.status == MessageStatus.DONE and "25 working days" in stored.text
    finally:
        Organization.objects.get(pk=other.pk).delete(force_drop=True)


def test_generation_cancelled_mid_answer_keeps_the_text_marked_interrupted(
    handbook: Handbook, committed: None
):
    """The generator itself cut off (the server shutting down), not the browser leaving."""
    from assistant.answering import answer_events

    with tenant_context(handbook.organization):
        _, _, reply = question_ask(user=handbook.owner, text="How long is parental leave?")

    async def leave_after_two_pieces() -> str:
        events = answer_events(tenant=handbook.organization, message_id=reply.pk)
        seen = ""
        async for _kind, text in events:
            seen = text
            if len(text.split()) > 6:
                break
        await events.aclose()
        return seen

    seen = asyncio.run(leave_after_two_pieces())

    with tenant_context(handbook.organization):
        stored = Message.objects.get(pk=reply.pk)
    assert stored.status == MessageStatus.INTERRUPTED
    assert stored.text == seen and seen


def _status(message_id: int) -> str:
    return str(Message.objects.values_list("status", flat=True).get(pk=message_id))


def test_browser_leaving_through_the_asgi_handler_still_gets_the_whole_answer_stored(
    handbook: Handbook, committed: None
):
    from tenants.schemas import in_tenant

    with tenant_context(handbook.organization):
        _, _, reply = question_ask(user=handbook.owner, text="How long is parental leave?")
    client = AsgiClient(handbook.organization, handbook.owner)

    async def leave_then_wait() -> tuple[int, str]:
        status, _, body = await client.get(f"/ask/messages/{reply.pk}/stream/", leave_after=3)
        # The generation goes on in this event loop (as it would in uvicorn's) after the
        # response is gone.
        for _ in range(300):
            if await in_tenant(handbook.organization, _status, message_id=reply.pk) != "streaming":
                break
            await asyncio.sleep(0.1)
        return status, body

    status, body = asyncio.run(leave_then_wait())

    assert status == 200 and "event: partial" in body and "event: done" not in body
    with tenant_context(handbook.organization):
        stored = Message.objects.get(pk=reply.pk)
        assert stored.status == MessageStatus.DONE
        assert stored.text and stored.citations.exists()
    assert stored.text.split()[0] in body


def test_question_over_the_length_limit_is_refused_before_any_work(
    handbook: Handbook, committed: None, settings
):
    settings.ASSISTANT_MAX_QUESTION_CHARS = 100
    client = signed_in(handbook.organization, handbook.owner)
    with tenant_context(handbook.organization):
        before = Message.objects.count()

    response = client.post("/ask/", {"question": "why " * 40}, HTTP_HX_REQUEST="true")

    assert "limited to 100 characters" in response.content.decode()
    assert response["HX-Retarget"] == "#composer-error"
    with tenant_context(handbook.organization):
        assert Message.objects.count() == before


def test_question_and_answer_are_rendered_escaped(handbook: Handbook, committed: None):
    client = signed_in(handbook.organization, handbook.owner)
    with tenant_context(handbook.organization):
        conversation, _, reply = question_ask(
            user=handbook.owner, text="<script>alert('q')</script> vacation?"
        )
        Message.objects.filter(pk=reply.pk).update(
            status=MessageStatus.DONE,
            text="See <img src=x onerror=alert(1)> and [x](javascript:alert(2)) "
            "<script>alert(3)</script> **bold** [1]",
        )

    page = client.get(f"/ask/c/{conversation.pk}/").content.decode()

    assert "<script>alert(" not in page
    assert "<img" not in page
    assert 'href="javascript:' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown as text, inert
    assert "&lt;script&gt;alert(&#x27;q&#x27;)&lt;/script&gt;" in page
    assert "<strong>bold</strong>" in page


def test_conversations_are_titled_renamed_resumed_and_deleted(handbook: Handbook, committed: None):
    client = signed_in(handbook.organization, handbook.owner)
    first, _ = ask(handbook.organization, handbook.owner, "Which days are the office anchor days?")
    conversation = first.conversation
    assert conversation.title == "Which days are the office anchor days?"

    assert "Which days are the office anchor days?" in client.get("/ask/").content.decode()
    client.post(f"/ask/c/{conversation.pk}/rename/", {"title": "Office days"})
    resumed = client.get(f"/ask/c/{conversation.pk}/").content.decode()
    assert "Office days" in resumed and "Tuesday" in resumed

    response = client.post(f"/ask/c/{conversation.pk}/", {"question": "and core hours?"})
    assert response.status_code == 200
    assert "and core hours?" in response.content.decode()
    assert "sse-connect" in response.content.decode()

    client.post(f"/ask/c/{conversation.pk}/delete/")
    assert client.get(f"/ask/c/{conversation.pk}/").status_code == 404
    with tenant_context(handbook.organization):
        assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_another_members_conversation_is_invisible(handbook: Handbook, committed: None):
    answer, _ = ask(handbook.organization, handbook.owner, "What is the gift limit?")
    with tenant_context(handbook.organization):
        colleague = make_member(role=Role.ADMIN)
        citation = answer.citations.all()[0]
    client = signed_in(handbook.organization, colleague)
    conversation = answer.conversation.pk

    assert client.get(f"/ask/c/{conversation}/").status_code == 404
    assert client.post(f"/ask/c/{conversation}/", {"question": "hi there"}).status_code == 404
    assert client.post(f"/ask/c/{conversation}/rename/", {"title": "x"}).status_code == 404
    assert client.post(f"/ask/c/{conversation}/delete/").status_code == 404
    assert client.post(f"/ask/messages/{answer.pk}/retry/").status_code == 404
    assert client.post(f"/ask/messages/{answer.pk}/feedback/", {"rating": "-1"}).status_code == 404
    assert client.get(f"/ask/sources/{citation.pk}/").status_code == 404
    assert "What is the gift limit?" not in client.get("/ask/").content.decode()


def test_citation_and_file_of_a_workspace_the_user_cannot_read_are_404(
    handbook: Handbook, committed: None
):
    with tenant_context(handbook.organization):
        member = make_member()
        secret = workspace_create(actor=handbook.owner, name="Board")
        from workspaces.services import grant_set

        grant_set(actor=handbook.owner, workspace=secret, grantee=member, role="viewer")
    from tests.files import upload
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.services import document_upload

    with tenant_context(handbook.organization):
        document = document_upload(
            queue_ingestion=False,
            actor=handbook.owner,
            workspace=secret,
            upload=upload(
                "board.md", b"# Board\n\nThe board approved a bonus pool of 7 percent this year.\n"
            ),
        )
        documents_ingest(document_ids=[document.pk])
    answer, _ = ask(handbook.organization, member, "How big is the bonus pool this year?")
    [citation] = [c for c in answer.citations.all() if c.document_title == "Board"]
    client = signed_in(handbook.organization, member)
    panel = client.get(f"/ask/sources/{citation.pk}/", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200
    assert "<mark>" in panel.content.decode() and "Open the original file" in panel.content.decode()

    with tenant_context(handbook.organization):
        secret.grants.all().delete()

    assert client.get(f"/ask/sources/{citation.pk}/").status_code == 404
    assert client.get(f"/w/{secret.slug}/documents/{document.pk}/download/").status_code == 404
    later, _ = ask(handbook.organization, member, "How big is the bonus pool this year?")
    assert "Board" not in [c.document_title for c in later.citations.all()]
    with tenant_context(handbook.organization):  # the session's organization is on Free
        document_delete(actor=handbook.owner, document=document)
        secret.delete()


def test_citation_of_a_deleted_document_still_reads_as_source_removed(
    handbook: Handbook, committed: None
):
    from tests.files import upload
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.services import document_delete, document_upload

    with tenant_context(handbook.organization):
        document = document_upload(
            queue_ingestion=False,
            actor=handbook.owner,
            workspace=handbook.workspace,
            upload=upload(
                "parking.md", b"# Parking\n\nStaff parking at Lisbon costs 40 euros per month.\n"
            ),
        )
        documents_ingest(document_ids=[document.pk])
    answer, _ = ask(handbook.organization, handbook.owner, "How much does staff parking cost?")
    with tenant_context(handbook.organization):
        document_delete(actor=handbook.owner, document=document)
    client = signed_in(handbook.organization, handbook.owner)

    page = client.get(f"/ask/c/{answer.conversation.pk}/").content.decode()
    citation = next(c for c in answer.citations.all() if c.document_title == "Parking")
    panel = client.get(f"/ask/sources/{citation.pk}/").content.decode()

    assert "source removed" in page
    assert "40 euros" in page
    assert "Source removed" in panel and "40 euros" in panel


def test_feedback_is_reviewed_by_admins_and_managers_negative_first(
    handbook: Handbook, committed: None
):
    liked, _ = ask(handbook.organization, handbook.owner, "How much is the home office stipend?")
    disliked, _ = ask(
        handbook.organization, handbook.owner, "What is the battery life of the NR-350?"
    )
    owner = signed_in(handbook.organization, handbook.owner)
    owner.post(f"/ask/messages/{liked.pk}/feedback/", {"rating": "1"})
    response = owner.post(
        f"/ask/messages/{disliked.pk}/feedback/", {"rating": "-1", "comment": "Wrong robot"}
    )
    assert "Thanks" in response.content.decode()
    with tenant_context(handbook.organization):
        member = make_member()

    page = owner.get("/ask/feedback/").content.decode()

    assert page.index("Wrong robot") < page.index("home office stipend")
    assert "What is the battery life of the NR-350?" in page
    assert signed_in(handbook.organization, member).get("/ask/feedback/").status_code == 404
    assert signed_in(handbook.organization, member).get("/ask/gaps/").status_code == 404


def test_knowledge_gaps_group_similar_unanswered_questions(handbook: Handbook, committed: None):
    for question in (
        "How do I bake sourdough bread?",
        "What is a good sourdough bread recipe?",
        "Who won the football world cup in 1998?",
    ):
        ask(handbook.organization, handbook.owner, question)
    owner = signed_in(handbook.organization, handbook.owner)

    page = owner.get("/ask/gaps/").content.decode()

    groups = re.findall(r'<article class="gap"[^>]*>(.*?)</article>', page, re.S)
    bread = next(g for g in groups if "sourdough bread recipe" in g)
    assert "How do I bake sourdough bread?" in bread
    assert "world cup" not in bread


def test_knowledge_gaps_say_why_each_question_found_nothing(handbook: Handbook, committed: None):
    """The reason is recorded with the answer: no passage matched at all (here a tag filter
    no document carries), or the closest passages did not answer it."""
    unanswered, _ = ask(
        handbook.organization, handbook.owner, "Who won the football world cup in 1998?"
    )
    with tenant_context(handbook.organization):
        _, _, filtered = question_ask(
            user=handbook.owner, text="How do I descale the espresso machine?",
            filters=RetrievalFilters(tags=("no-such-tag",)),
        )  # fmt: skip
    asyncio.run(_drain(handbook.organization, filtered.pk))
    page = signed_in(handbook.organization, handbook.owner).get("/ask/gaps/").content.decode()

    with tenant_context(handbook.organization):
        reasons = dict(
            Message.objects.filter(pk__in=[unanswered.pk, filtered.pk]).values_list(
                "pk", "refusal_reason"
            )
        )
    assert reasons == {
        unanswered.pk: RefusalReason.NOT_ANSWERED,
        filtered.pk: RefusalReason.NOTHING_RETRIEVED,
    }
    assert "The closest passages did not answer it" in page
    assert "No passage of the searched documents matched it" in page


def test_failed_answer_can_be_retried_and_keeps_the_question(handbook: Handbook, committed: None):
    with tenant_context(handbook.organization):
        conversation, _, reply = question_ask(
            user=handbook.owner, text="How long is parental leave?"
        )
        Message.objects.filter(pk=reply.pk).update(
            status=MessageStatus.FAILED, failure_reason="The language model is over its quota."
        )
    client = signed_in(handbook.organization, handbook.owner)
    page = client.get(f"/ask/c/{conversation.pk}/").content.decode()
    assert "over its quota" in page and "Retry" in page

    retried = client.post(f"/ask/messages/{reply.pk}/retry/").content.decode()

    assert "sse-connect" in retried
    events = asyncio.run(read_stream(async_client_for(handbook, handbook.owner), reply.pk))
    assert events[-1][0] == "done" and "weeks" in events[-1][1]
    assert (
        "How long is parental leave?" in client.get(f"/ask/c/{conversation.pk}/").content.decode()
    )


def test_signed_out_visitor_is_sent_to_sign_in(handbook: Handbook, committed: None):
    response = client_for(handbook.organization).get("/ask/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_manager_of_an_open_workspace_does_not_review_answers_from_a_restricted_one(
    handbook: Handbook, committed: None
):
    """The leak this fixes: a manager of the open Handbook opened "Answer feedback" and read
    the question, answer and cited passage of an answer drawn from a restricted workspace
    they cannot open; "Knowledge gaps" showed such questions too."""
    from tests.files import upload
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.services import document_upload, grant_set

    with tenant_context(handbook.organization):
        manager = make_member()
        grant_set(
            actor=handbook.owner, workspace=handbook.workspace, grantee=manager, role="manager"
        )
        restricted = workspace_create(actor=handbook.owner, name="Mergers")
        document = document_upload(
            queue_ingestion=False, actor=handbook.owner, workspace=restricted,
            upload=upload("mergers.md", b"# Mergers\n\nWe are acquiring Zephyr Dynamics for 41 million euros.\n"),
        )  # fmt: skip
        documents_ingest(document_ids=[document.pk])
    secret, _ = ask(handbook.organization, handbook.owner, "Which company are we acquiring?")
    assert any(c.document_title == "Mergers" for c in secret.citations.all())
    unanswered, _ = ask(handbook.organization, handbook.owner, "What is Zephyr's secret codename?")
    assert not unanswered.answered
    ask(
        handbook.organization, handbook.owner, "Why did the bread rise?",
        scope_ids=(handbook.workspace.pk,),
    )  # fmt: skip
    owner = signed_in(handbook.organization, handbook.owner)
    owner.post(f"/ask/messages/{secret.pk}/feedback/", {"rating": "-1", "comment": "Zephyr?"})

    feedback = signed_in(handbook.organization, manager).get("/ask/feedback/")
    gaps = signed_in(handbook.organization, manager).get("/ask/gaps/")

    assert feedback.status_code == 200 and gaps.status_code == 200
    assert "Zephyr" not in feedback.content.decode()
    assert "acquiring" not in feedback.content.decode()
    assert "Zephyr" not in gaps.content.decode()
    assert "Why did the bread rise?" in gaps.content.decode()  # what they may review is there
    assert "Zephyr" in owner.get("/ask/feedback/").content.decode()  # owners read everything
    with tenant_context(handbook.organization):  # the session's organization is on Free
        document_delete(actor=handbook.owner, document=document)
        restricted.delete()


def test_rating_first_then_a_reason_then_a_changed_rating_keeps_the_reason(
    handbook: Handbook, committed: None
):
    answer, _ = ask(handbook.organization, handbook.owner, "How much is the home office stipend?")
    client = signed_in(handbook.organization, handbook.owner)
    url = f"/ask/messages/{answer.pk}/feedback/"

    rated = client.post(url, {"rating": "-1"}).content.decode()
    assert "What was wrong or missing?" in rated
    assert 'name="comment"' in rated
    commented = client.post(url, {"rating": "-1", "comment": "It left out the tax."}).content
    assert "Thanks" in commented.decode() and "It left out the tax." in commented.decode()
    changed = client.post(url, {"rating": "1"}).content.decode()

    assert "You found this helpful" in changed
    assert "It left out the tax." in changed
    with tenant_context(handbook.organization):
        feedback = answer.feedback.get()
    assert (feedback.rating, feedback.comment) == (1, "It left out the tax.")
    page = client.get(f"/ask/c/{answer.conversation_id}/").content.decode()
    assert "You found this helpful" in page and "It left out the tax." in page


def test_feedback_without_a_rating_is_refused_with_a_sentence(handbook: Handbook, committed: None):
    answer, _ = ask(handbook.organization, handbook.owner, "How much is the home office stipend?")
    client = signed_in(handbook.organization, handbook.owner)

    response = client.post(f"/ask/messages/{answer.pk}/feedback/", {"comment": "hm"})

    assert response.status_code == 400
    assert "Choose thumbs up or thumbs down." in response.content.decode()


def _gap_ids(page: str) -> dict[str, str]:
    """Each gap's article id by its first listed question."""
    return {
        question: article_id
        for article_id, question in re.findall(
            r'<article class="gap" id="(gap-\d+)".*?<li>(.*?)</li>', page, re.S
        )
    }


def test_gaps_are_marked_resolved_or_dismissed_and_leave_the_list(
    handbook: Handbook, committed: None
):
    first, _ = ask(handbook.organization, handbook.owner, "Can I bring my parrot to the office?")
    second, _ = ask(handbook.organization, handbook.owner, "Which ski resort is the team trip?")
    owner = signed_in(handbook.organization, handbook.owner)
    assert {"Can I bring my parrot to the office?", "Which ski resort is the team trip?"} <= set(
        _gap_ids(owner.get("/ask/gaps/").content.decode())
    )

    resolved = owner.post(
        "/ask/gaps/close/", {"message": [first.pk], "status": "resolved"}, HTTP_HX_REQUEST="true"
    )
    dismissed = owner.post("/ask/gaps/close/", {"message": [second.pk], "status": "dismissed"})

    assert "Marked resolved." in resolved.content.decode()
    assert dismissed.status_code == 302
    listed = _gap_ids(owner.get("/ask/gaps/").content.decode())
    assert "Can I bring my parrot to the office?" not in listed
    assert "Which ski resort is the team trip?" not in listed
    with tenant_context(handbook.organization):
        statuses = dict(
            Message.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "gap_status")
        )
    assert statuses == {first.pk: "resolved", second.pk: "dismissed"}


def test_closing_a_gap_refuses_bad_input_strangers_and_forged_posts(
    handbook: Handbook, committed: None
):
    unanswered, _ = ask(handbook.organization, handbook.owner, "Where do I park my hovercraft?")
    owner = signed_in(handbook.organization, handbook.owner)
    with tenant_context(handbook.organization):
        member = make_member()

    no_status = owner.post("/ask/gaps/close/", {"message": [unanswered.pk]})
    bad_id = owner.post("/ask/gaps/close/", {"message": ["abc"], "status": "resolved"})
    stranger = signed_in(handbook.organization, member).post(
        "/ask/gaps/close/", {"message": [unanswered.pk], "status": "dismissed"}
    )
    forged = Client(enforce_csrf_checks=True, HTTP_HOST=owner.defaults["HTTP_HOST"])
    forged.cookies = owner.cookies
    forged_response = forged.post(
        "/ask/gaps/close/", {"message": [unanswered.pk], "status": "dismissed"}
    )

    assert no_status.status_code == 400
    assert "Choose whether the gap is resolved or dismissed." in no_status.content.decode()
    assert bad_id.status_code == 400 and "by number" in bad_id.content.decode()
    assert stranger.status_code == 404
    assert forged_response.status_code == 403
    with tenant_context(handbook.organization):
        assert Message.objects.get(pk=unanswered.pk).gap_status == "open"


def test_a_gap_the_documents_answer_now_leaves_the_list_by_itself(
    handbook: Handbook, committed: None, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    dog, _ = ask(handbook.organization, handbook.owner, "May I bring my dog to the office?")
    owner = signed_in(handbook.organization, handbook.owner)
    page = owner.get("/ask/gaps/").content.decode()
    assert "May I bring my dog to the office?" in _gap_ids(page)
    # "Write an entry" opens the workspace's entry form with the question as its title.
    link = re.search(r'href="(/w/handbook/\?entry=May[^"#]+)#entry"', page)
    assert link is not None
    form = owner.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert 'value="May I bring my dog to the office?"' in form
    assert '<details id="entry" open>' in form

    with tenant_context(handbook.organization):
        entry = document_upload(
            actor=handbook.owner,
            workspace=handbook.workspace,
            upload=ContentFile(
                b"Dogs are welcome in the office on Fridays, on a lead, if your team agrees.",
                name="dogs.md",
            ),
            title="May I bring my dog to the office?",
            queue_ingestion=False,
        )
        documents_ingest(document_ids=[entry.pk])
    try:
        # Asked again once, when the entry was indexed; the page reads what that recorded.
        with tenant_context(handbook.organization):
            assert Message.objects.get(pk=dog.pk).gap_status == GapStatus.ANSWERED
        with CaptureQueriesContext(connection) as queries:
            page = owner.get("/ask/gaps/").content.decode()
        assert "May I bring my dog to the office?" not in _gap_ids(page)
        assert not any("workspaces_chunk" in query["sql"] for query in queries.captured_queries)
    finally:
        with tenant_context(handbook.organization):
            document_delete(actor=handbook.owner, document=entry)


def test_conversations_are_searched_by_title_and_text_and_show_dates(
    handbook: Handbook, committed: None
):
    stipend, _ = ask(handbook.organization, handbook.owner, "How much is the home office stipend?")
    leave, _ = ask(handbook.organization, handbook.owner, "How long is parental leave?")
    client = signed_in(handbook.organization, handbook.owner)

    by_answer = client.get("/ask/", {"q": "furniture"}).content.decode()
    by_title = client.get("/ask/", {"q": "PARENTAL"}).content.decode()
    nothing = client.get("/ask/", {"q": "zebra crossing"}).content.decode()
    too_long = client.get("/ask/", {"q": "x" * 201})

    assert f"/ask/c/{stipend.conversation_id}/" in by_answer
    assert f"/ask/c/{leave.conversation_id}/" not in by_answer
    assert f"/ask/c/{leave.conversation_id}/" in by_title
    assert f"/ask/c/{stipend.conversation_id}/" not in by_title
    assert "No conversation mentions “zebra crossing”." in nothing
    assert too_long.status_code == 400
    assert "Search for at most 200 characters." in too_long.content.decode()
    page = client.get(f"/ask/c/{leave.conversation_id}/").content.decode()
    assert re.search(r"Started <time datetime=\"\d{4}-\d\d-\d\dT", page)
    assert re.search(r'<time class="muted small" datetime="\d{4}-', page)


def test_an_answer_is_regenerated_from_its_question_as_a_new_answer(
    handbook: Handbook, committed: None
):
    answer, _ = ask(handbook.organization, handbook.owner, "How long is parental leave?")
    client = signed_in(handbook.organization, handbook.owner)
    client.post(f"/ask/messages/{answer.pk}/feedback/", {"rating": "-1", "comment": "Too short"})
    with tenant_context(handbook.organization):
        stranger = make_member()

    account = billing_account_get(organization=handbook.organization)
    used_before = questions_used(
        organization=handbook.organization, period=period_current(account=account)
    )

    regenerated = client.post(f"/ask/messages/{answer.pk}/regenerate/").content.decode()
    again = client.post(f"/ask/messages/{answer.pk}/regenerate/").content.decode()
    used_after = questions_used(
        organization=handbook.organization, period=period_current(account=account)
    )
    refused = signed_in(handbook.organization, stranger).post(
        f"/ask/messages/{answer.pk}/regenerate/"
    )

    assert "sse-connect" in regenerated and "sse-connect" in again
    # A new answer is a question's worth of work; the second click found it pending.
    assert used_after == used_before + 1
    assert refused.status_code == 404
    with tenant_context(handbook.organization):
        reset = Message.objects.get(pk=answer.pk)
        assert reset.status == MessageStatus.PENDING and reset.text == ""
        assert not reset.feedback.exists() and not reset.citations.exists()
    events = asyncio.run(read_stream(async_client_for(handbook, handbook.owner), answer.pk))
    assert events[-1][0] == "done" and "weeks" in events[-1][1]
    with tenant_context(handbook.organization):
        stored = Message.objects.get(pk=answer.pk)
        assert stored.status == MessageStatus.DONE and stored.citations.exists()
        assert Message.objects.filter(conversation_id=answer.conversation_id).count() == 2
